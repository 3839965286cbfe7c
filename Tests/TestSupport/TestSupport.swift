import Foundation
import XOShareCore

/// A fresh folder for one test, removed when the object goes away.
public final class TemporaryDirectory {
    public let path: String

    public init() throws {
        let base = FileManager.default.temporaryDirectory.path + "/xoshare-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        path = base
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    public func file(_ name: String) -> String { path + "/" + name }

    /// Creates a subfolder and returns its path.
    public func folder(_ name: String) throws -> String {
        try FileManager.default.createDirectory(atPath: file(name), withIntermediateDirectories: true)
        return file(name)
    }
}

/// The repository's `fixtures/` folder.
public let fixturesPath: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.appendingPathComponent("fixtures").path
}()

/// Creates an SQLite database at `path` from a fixture SQL file.
public func loadFixture(_ name: String, into path: String) throws {
    let sql = try String(contentsOfFile: fixturesPath + "/" + name, encoding: .utf8)
    let database = try Database(path: path, mode: .readWriteCreate)
    try database.execute(sql)
}

/// Bytes from a hex string, for test vectors.
public func hexBytes(_ text: String) -> [UInt8] {
    let digits = Array(text.utf8).filter { $0 != UInt8(ascii: " ") }
    return stride(from: 0, to: digits.count, by: 2).map {
        UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)!
    }
}

/// The shared columns (hub) or copied columns (spoke) of a table, with storage class and value, ordered by key.
public func tableContents(_ databasePath: String, table: String, columns: [String], key: String) throws -> [[SQLValue]]
{
    let database = try Database(path: databasePath, mode: .readOnly)
    let list = columns.map { quoteIdentifier($0) }.joined(separator: ", ")
    return try database.rows("SELECT \(list) FROM \(quoteIdentifier(table)) ORDER BY \(quoteIdentifier(key))")
}

/// Whether two result sets hold the same values with the same storage classes, reals bit for bit.
public func identical(_ a: [[SQLValue]], _ b: [[SQLValue]]) -> Bool {
    guard a.count == b.count else { return false }
    return zip(a, b).allSatisfy { rowA, rowB in
        rowA.count == rowB.count && zip(rowA, rowB).allSatisfy { $0.isIdentical(to: $1) }
    }
}

/// A SHA-256 of every file in a folder, by name, to show that nothing there changed.
public func folderFingerprint(_ path: String) throws -> [String: [UInt8]] {
    var result: [String: [UInt8]] = [:]
    for name in try FileManager.default.contentsOfDirectory(atPath: path) where name != "lock" {
        let data = try Data(contentsOf: URL(fileURLWithPath: path + "/" + name))
        result[name] = SHA256.hash(Array(data))
    }
    return result
}

/// Flips one bit of the byte at `offset` of a file.
public func flipByte(in path: String, at offset: Int) throws {
    var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    bytes[offset] ^= 0x01
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

/// Cuts a file to its first `length` bytes.
public func truncateFile(_ path: String, to length: Int) throws {
    let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    try Data(bytes[0..<length]).write(to: URL(fileURLWithPath: path))
}

/// The fields the demo shares of each fixture object: everything but one private column.
public let fixtureShares: [(object: String, key: String, fields: [String], hidden: String)] = [
    (
        "Account", "Id", ["Id", "Name", "Industry", "AnnualRevenue", "Employees", "Website", "Logo", "CreditLimit"],
        "InternalNotes"
    ),
    ("Product", "Code", ["Code", "Name", "ListPrice", "Quantity", "Datasheet", "Active"], "Cost"),
    (
        "Contact", "ContactId", ["ContactId", "AccountId", "FirstName", "LastName", "Email", "Phone", "Photo"],
        "Birthdate"
    ),
]

/// A hub org and a spoke org on the fixtures, connected through a drop directory, through the library.
public final class ConnectedOrgs {
    public let directory: TemporaryDirectory
    public let hub: Org
    public let spoke: Org
    public let drop: DropDirectory
    public let code: InvitationCode

    public init(environment: Environment = Environment(lockTimeout: 0)) throws {
        directory = try TemporaryDirectory()
        try loadFixture("hub.sql", into: directory.file("hub.db"))
        try loadFixture("spoke.sql", into: directory.file("spoke.db"))
        hub = try Org.initialise(
            home: Home(path: directory.file("hubhome")), orgName: "Acme Corp", databasePath: directory.file("hub.db"),
            environment: environment)
        spoke = try Org.initialise(
            home: Home(path: directory.file("spokehome")), orgName: "Globex Corporation",
            databasePath: directory.file("spoke.db"), environment: environment)
        for share in fixtureShares { try hub.share(object: share.object, fields: share.fields) }
        drop = try DropDirectory(path: try directory.folder("drop"))
        code = try hub.invite(spokeName: "globex")
        _ = try spoke.accept(code: code, drop: drop, localName: nil) { _ in true }
    }

    /// The bundle files in the drop directory.
    public func bundlePaths() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: drop.path).filter { $0.hasSuffix(".xob") }.sorted()
            .map { drop.path + "/" + $0 }
    }

    /// What must stay unchanged when a bundle is refused: the spoke's database and home.
    public func spokeFingerprint() throws -> [String: [UInt8]] {
        var result = try folderFingerprint(spoke.home.path)
        result["spoke.db"] = SHA256.hash(Array(try Data(contentsOf: URL(fileURLWithPath: directory.file("spoke.db")))))
        return result
    }
}

/// A reproducible pseudo-random source (SplitMix64), so a failing run can be replayed from its seed.
public struct SeededGenerator: RandomNumberGenerator {
    public var state: UInt64

    public init(state: UInt64) { self.state = state }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
