import Foundation
import Testing
import XOShareTestSupport

@testable import XOShareCore

/// The export's one pass over each shared object: key order, the slower path
/// for keys SQLite orders differently, and bundles made of many frames.
@Suite struct ChangeTrackingTests {
    /// Every key in `values`, stored in a typeless key column as the tracking tables
    /// store them, comes back from SQLite's ORDER BY in the order `KeyOrder` says.
    func expectKeyOrderAgreesWithSQLite(_ values: [SQLValue], sourceLocation: SourceLocation = #_sourceLocation)
        throws
    {
        let directory = try TemporaryDirectory()
        let database = try Database(path: directory.file("keys.db"), mode: .readWriteCreate)
        try database.execute("CREATE TABLE k (v PRIMARY KEY) WITHOUT ROWID")
        for value in values { try database.run("INSERT OR IGNORE INTO k VALUES (?)", [value]) }
        let sorted = try database.prepare("SELECT v FROM k ORDER BY v")
        var previous = KeyOrder.Holder()
        var count = 0
        while try sorted.step() {
            let key = KeyOrder.Key(sorted, 0)
            #expect(previous.precedes(key), "\(sorted.value(at: 0)) sorts too early", sourceLocation: sourceLocation)
            previous.hold(key)
            #expect(!previous.precedes(key), "\(sorted.value(at: 0)) is not equal to itself")
            count += 1
        }
        #expect(count > values.count / 2, sourceLocation: sourceLocation)
    }

    @Test func keysSortAsSQLiteSortsThem() throws {
        try expectKeyOrderAgreesWithSQLite([
            .integer(.min), .integer(-1), .integer(0), .integer(1), .integer(2), .integer(.max),
            .integer(9_007_199_254_740_993), .real(9_007_199_254_740_992), .real(-1e300), .real(-0.5), .real(0.5),
            .real(1.5), .real(9.3e18), .real(-9.3e18), .real(1e300), .real(-9_223_372_036_854_775_808),
            .string(""), .string("a"), .string("B"), .string("ab"), .string("é"), .string("日本"), .string("a b"),
            .blob([]), .blob([0]), .blob([0, 1]), .blob([255]), .blob(Array("a".utf8)),
        ])
    }

    @Test(arguments: [1, 2, 3])
    func randomKeysSortAsSQLiteSortsThem(seed: UInt64) throws {
        var generator = SeededGenerator(state: seed)
        let values: [SQLValue] = (0..<400).map { _ in
            switch Int.random(in: 0..<4, using: &generator) {
            case 0: .integer(Int64.random(in: -1000...1000, using: &generator))
            case 1: .real(Double(Int.random(in: -4000...4000, using: &generator)) / 4)
            case 2:
                .string(
                    String(
                        (0..<Int.random(in: 0...4, using: &generator)).map { _ in
                            "aAb\u{e9}z".randomElement(using: &generator)!
                        }))
            default:
                .blob(
                    (0..<Int.random(in: 0...3, using: &generator)).map { _ in
                        UInt8.random(in: 0...255, using: &generator)
                    })
            }
        }
        try expectKeyOrderAgreesWithSQLite(values)
    }

    /// A NOCASE key makes SQLite's order differ from the scan's: the export notices
    /// and tracks the object the slower way, with the same result.
    @Test func keysInAnotherCollationAreTrackedTheSlowerWay() throws {
        let warnings = Warnings()
        let orgs = try ConnectedOrgs(
            environment: Environment(
                report: { event in if case .warning(let text) = event { warnings.append(text) } }, lockTimeout: 0))
        let hubDatabase = try Database(path: orgs.directory.file("hub.db"))
        try hubDatabase.execute(
            """
            CREATE TABLE Region (Code TEXT PRIMARY KEY COLLATE NOCASE, Name TEXT);
            INSERT INTO Region VALUES ('a', 'Alps'), ('B', 'Baltic'), ('c', 'Carpathians'), ('E', 'Ebro');
            """)
        try orgs.hub.share(object: "Region", fields: [])
        #expect(try orgs.hub.export(to: orgs.drop).count == 1)
        #expect(try orgs.spoke.sync(from: orgs.drop).applied == 1)
        try expectRegionsMatch(orgs)

        try hubDatabase.execute(
            "UPDATE Region SET Name = 'Alpes' WHERE Code = 'a'; DELETE FROM Region WHERE Code = 'B'; INSERT INTO Region VALUES ('D', 'Danube')"
        )
        let delta = try #require(try orgs.hub.export(to: orgs.drop).first)
        #expect(delta.bundle.header.kind == .delta)
        #expect(delta.bundle.recordCounts.reduce(0, +) == 3)
        #expect(try orgs.spoke.sync(from: orgs.drop).applied == 1)
        try expectRegionsMatch(orgs)
        #expect(try orgs.hub.export(to: orgs.drop).isEmpty)
        // The operator is told why exports of Region take longer; the other objects merge.
        #expect(warnings.all.count == 3)
        #expect(warnings.all.allSatisfy { $0.hasPrefix("Region is compared") && $0.contains("NOCASE") })
    }

    func expectRegionsMatch(_ orgs: ConnectedOrgs) throws {
        func regions(_ database: String, _ table: String) throws -> [[SQLValue]] {
            try Database(path: orgs.directory.file(database), mode: .readOnly).rows(
                "SELECT Code, Name FROM \(table) ORDER BY Code COLLATE BINARY")
        }
        let hub = try regions("hub.db", "Region")
        let spoke = try regions("spoke.db", "Region__xo")
        #expect(hub == spoke)
        #expect(!hub.isEmpty)
    }

    /// Runs the change tracking of an export in `begin`'s kind of transaction, after one
    /// change at the hub, and returns what it found for Account.
    func trackOneChange(begin: String) throws -> (changes: Int64, trackedWithSQL: [String]) {
        let orgs = try ConnectedOrgs()
        _ = try orgs.hub.export(to: orgs.drop)
        try Database(path: orgs.directory.file("hub.db")).execute("UPDATE Account SET Employees = 1 WHERE Id = 2")
        let work = try orgs.hub.openWorkConnection()
        let objects = try orgs.hub.currentSchemas(in: work)
        let version = try #require(Int64(try StateStore(connection: work).setting("tracking_version") ?? ""))
        try work.execute(begin)
        defer { try? work.execute("ROLLBACK") }
        let update = try ChangeTracker(connection: work).update(
            objects: objects, readers: [ChangeTracker.Reader(since: version, snapshot: false)]
        ) { index in
            try RecordStream(
                object: index, objectName: objects[index].name, spoolDirectory: orgs.directory.path,
                modificationTime: 0)
        }
        let account = try #require(update.objects.first { $0.schema.name == "Account" })
        let changes = try #require(account.latestChanges)
        try changes.finish()
        return (changes.recordCount, update.trackedWithSQL.map(\.object))
    }

    /// The export's transaction has written nothing to the file yet: the merge reads each
    /// tracking table on its own connection. Once the transaction holds the file
    /// exclusively, that connection cannot read, and SQL tracks the same change.
    @Test func theMergeReadsTrackingTablesOnASecondConnectionOrFallsBack() throws {
        let merged = try trackOneChange(begin: "BEGIN IMMEDIATE")
        #expect(merged.changes == 1)
        #expect(merged.trackedWithSQL.isEmpty)
        let locked = try trackOneChange(begin: "BEGIN EXCLUSIVE")
        #expect(locked.changes == 1)
        #expect(Set(locked.trackedWithSQL) == Set(fixtureShares.map(\.object)))
    }

    /// The stages of an export on three threads or on one make the same bundles' contents.
    @Test func oneThreadOrThreeTheSpokeGetsTheSame() throws {
        var spokes: [[[SQLValue]]] = []
        var counts: [[Int64]] = []
        for usesMoreThreads in [true, false] {
            let orgs = try ConnectedOrgs()
            var options = ExportOptions()
            options.usesMoreThreads = usesMoreThreads
            let first = try #require(try orgs.hub.export(to: orgs.drop, options: options).first)
            #expect(try orgs.spoke.sync(from: orgs.drop).applied == 1)
            try Database(path: orgs.directory.file("hub.db")).execute(
                """
                UPDATE Account SET Employees = Employees + 1 WHERE Id % 2 = 0;
                DELETE FROM Contact WHERE ContactId = 101;
                INSERT INTO Account (Id, Name) VALUES (99, 'New');
                UPDATE Product SET Quantity = 7 WHERE Code = 'WIDGET-001';
                """)
            let second = try #require(try orgs.hub.export(to: orgs.drop, options: options).first)
            #expect(try orgs.spoke.sync(from: orgs.drop).applied == 1)
            counts.append(first.bundle.recordCounts + second.bundle.recordCounts)
            var rows: [[SQLValue]] = []
            for share in fixtureShares {
                let hub = try tableContents(
                    orgs.directory.file("hub.db"), table: share.object, columns: share.fields, key: share.key)
                let spoke = try tableContents(
                    orgs.directory.file("spoke.db"), table: share.object + "__xo", columns: share.fields,
                    key: share.key)
                #expect(identical(hub, spoke), "\(share.object)")
                rows += spoke
            }
            spokes.append(rows)
        }
        #expect(counts[0] == counts[1])
        #expect(counts[0].suffix(3) == [5, 1, 1])
        #expect(identical(spokes[0], spokes[1]))
    }

    /// Data entries each compressed in their own zstd frame read as one tar stream.
    @Test func aBundleOfManyFramesIsReadWhole() throws {
        let orgs = try ConnectedOrgs()
        let connection = try #require(try orgs.hub.state.spokeConnection(named: "globex"))
        let account = ObjectSchema(
            name: "Account", primaryKey: "Id",
            fields: [FieldSchema(name: "Id", type: "INTEGER"), FieldSchema(name: "Name", type: "TEXT")])
        let worker = FrameWorker()
        let stream = try RecordStream(
            object: 0, objectName: "Account", spoolDirectory: orgs.directory.path, modificationTime: 0,
            segmentTarget: 256, worker: worker)
        for id in 1...500 {
            stream.segment.append(RecordCodec.Operation.upsert.rawValue)
            RecordCodec.append(.integer(Int64(id)), to: &stream.segment)
            RecordCodec.append(.string("Account \(id)"), to: &stream.segment)
            try stream.endRecord()
        }
        let now = Int64(Date().timeIntervalSince1970)
        let manifest = Manifest(
            format: 1, hubOrg: "Acme Corp", connection: connection.id.description, sequence: 1, createdAt: now,
            kind: "snapshot", objects: [ManifestObject(account, complete: true)], segmentLimit: 1 << 20)
        let parameters = BundleParameters(
            kind: .snapshot, connectionID: connection.id, secret: connection.secret, sequence: 1,
            previousBundleHash: [UInt8](repeating: 0, count: 32), createdAt: now, expiresAt: now + 3600)
        let bundle = try BundleWriter.write(
            into: orgs.drop, parameters: parameters, signingKey: try orgs.hub.signingKey.get(), manifest: manifest,
            streams: [stream])
        try bundle.publish()
        #expect(stream.segmentCount > 20)
        #expect(bundle.recordCounts == [500])

        let handler = CapturingHandler()
        let verified = try VerifiedBundle(
            path: bundle.path,
            trust: TrustedConnection(
                connectionID: connection.id, hubPublicKey: try orgs.hub.publicKey, secret: connection.secret,
                hubName: "acme-corp"),
            now: now)
        try verified.read(into: handler)
        #expect(handler.summary?.objects.first?.records == 500)
        #expect(handler.summary?.objects.first?.segments == Int64(stream.segmentCount))
        #expect(try orgs.spoke.sync(from: orgs.drop).applied == 1)
        let rows = try tableContents(
            orgs.directory.file("spoke.db"), table: "Account__xo", columns: ["Id", "Name"], key: "Id")
        #expect(rows.count == 500)
        #expect(rows.last == [.integer(500), .string("Account 500")])
    }
}

/// The warnings a run reported, from whichever thread reported them.
final class Warnings: @unchecked Sendable {
    private let lock = NSLock()
    private var texts: [String] = []

    func append(_ text: String) { lock.withLock { texts.append(text) } }
    var all: [String] { lock.withLock { texts } }
}
