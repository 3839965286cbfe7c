import Foundation
import Testing
import XOShareCore
import XOShareTestSupport

/// Two orgs set up through the command line, in a fresh folder.
final class TwoOrgs {
    let directory: TemporaryDirectory
    var path: String { directory.path }

    init() throws {
        directory = try TemporaryDirectory()
        try loadFixture("hub.sql", into: directory.file("hub.db"))
        try loadFixture("spoke.sql", into: directory.file("spoke.db"))
        _ = try directory.folder("drop")
        try expectSuccess(["--home", "hub", "init", "--org", "Acme Corp", "--db", "hub.db"])
        try expectSuccess(["--home", "spoke", "init", "--org", "Globex Corporation", "--db", "spoke.db"])
        for share in fixtureShares {
            try expectSuccess(["--home", "hub", "hub", "share", share.object] + share.fields)
        }
    }

    @discardableResult
    func run(_ arguments: [String], input: String = "", environment: [String: String] = [:]) throws -> RunResult {
        try runXOShare(arguments, in: path, input: input, environment: environment)
    }

    @discardableResult
    func expectSuccess(_ arguments: [String], input: String = "") throws -> RunResult {
        let result = try run(arguments, input: input)
        #expect(result.status == 0, "xoshare \(arguments.joined(separator: " ")): \(result.errors)")
        return result
    }

    func invite(_ spoke: String = "globex") throws -> String {
        let result = try expectSuccess(["--home", "hub", "hub", "invite", spoke])
        return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func status(_ home: String) throws -> [String: Any] {
        let result = try expectSuccess(["--home", home, "status", "--json"])
        return try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any] ?? [:]
    }

    func states(_ home: String, _ key: String) throws -> [String] {
        (try status(home)[key] as? [[String: Any]] ?? []).compactMap { $0["state"] as? String }
    }

    /// Runs invite, accept and export (not sync); returns the bundle's path.
    func connectAndExport() throws -> String {
        let code = try invite()
        try expectSuccess(["--home", "spoke", "spoke", "accept", code, "--drop", "drop", "--yes"])
        try expectSuccess(["--home", "hub", "hub", "export", "--drop", "drop"])
        let bundles = try FileManager.default.contentsOfDirectory(atPath: directory.file("drop")).filter {
            $0.hasSuffix(".xob")
        }
        #expect(bundles.count == 1)
        return directory.file("drop/" + (bundles.first ?? ""))
    }

    /// What must not change when a bundle is refused: the spoke's database and home.
    func spokeFingerprint() throws -> [String: [UInt8]] {
        var result = try folderFingerprint(directory.file("spoke"))
        result["spoke.db"] = SHA256.hash(
            Array(try Data(contentsOf: URL(fileURLWithPath: directory.file("spoke.db")))))
        return result
    }
}

extension TwoOrgs {
    var hubDatabase: String { directory.file("hub.db") }
    var spokeDatabase: String { directory.file("spoke.db") }
    var dropPath: String { directory.file("drop") }

    /// Invites, accepts, exports and syncs: the spoke holds the first snapshot.
    func connect() throws {
        let code = try invite()
        try expectSuccess(["--home", "spoke", "spoke", "accept", code, "--drop", "drop", "--yes"])
        try expectSuccess(["--home", "hub", "hub", "export", "--drop", "drop"])
        try expectSuccess(["--home", "spoke", "spoke", "sync", "--drop", "drop"])
    }

    func export(_ extra: [String] = []) throws -> RunResult {
        try run(["--home", "hub", "hub", "export", "--drop", "drop"] + extra)
    }

    func sync(_ home: String = "spoke") throws -> RunResult {
        try run(["--home", home, "spoke", "sync", "--drop", "drop"])
    }

    /// Runs SQL on the hub's database, as its applications would.
    func changeHub(_ sql: String) throws {
        try Database(path: hubDatabase).execute(sql)
    }

    /// The bundle files in the drop directory, oldest first.
    func bundleNames() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dropPath).filter { $0.hasSuffix(".xob") }.sorted()
    }

    /// Checks that every copy on the spoke equals the hub's shared projection, row for row, type for type.
    func expectSpokeMatchesHub(
        _ shares: [(object: String, key: String, fields: [String], hidden: String)] = fixtureShares,
        prefix: String = "", spoke: String? = nil, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        for share in shares {
            let hubRows = try tableContents(hubDatabase, table: share.object, columns: share.fields, key: share.key)
            let spokeRows = try tableContents(
                spoke ?? spokeDatabase, table: prefix + share.object + "__xo", columns: share.fields, key: share.key)
            #expect(
                identical(hubRows, spokeRows),
                "\(share.object): \(hubRows.count) rows at the hub, \(spokeRows.count) on the spoke",
                sourceLocation: sourceLocation)
        }
    }
}
