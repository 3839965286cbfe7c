import Foundation
import Testing
import XOShareCore
import XOShareTestSupport

/// Incremental sync and the connection lifecycle, through the built binary.
@Suite struct LifecycleTests {
    @Test func deltasCarryOnlyTheChangesAndDeletesReachTheSpoke() throws {
        let orgs = try TwoOrgs()
        try orgs.connect()
        try orgs.changeHub(
            """
            UPDATE Account SET Employees = 1300 WHERE Id = 1;
            DELETE FROM Contact WHERE ContactId = 101;
            INSERT INTO Product VALUES ('NEW-1', 'New', 5.0, 10, x'01', 1, 2.0);
            UPDATE Account SET InternalNotes = 'not shared, so no change' WHERE Id = 2;
            """)
        let exported = try orgs.export()
        #expect(exported.status == 0)
        #expect(exported.output.contains("(delta), 3 records"))
        let synced = try orgs.sync()
        #expect(synced.status == 0)
        #expect(synced.output.contains("(delta), 3 records"))
        try orgs.expectSpokeMatchesHub()
        let gone = try Database(path: orgs.spokeDatabase, mode: .readOnly)
            .rows("SELECT count(*) FROM Contact__xo WHERE ContactId = 101")
        #expect(gone == [[.integer(0)]])

        // Nothing changed: no bundle, and it says so.
        let before = try orgs.bundleNames()
        let idle = try orgs.export()
        #expect(idle.status == 0)
        #expect(idle.output.contains("Nothing changed for globex"))
        #expect(try orgs.bundleNames().count <= before.count)
    }

    @Test func receiptsAcknowledgeAndCleanUpOnlyWhatWasApplied() throws {
        let orgs = try TwoOrgs()
        try orgs.connect()
        #expect(FileManager.default.fileExists(atPath: orgs.dropPath + "/" + (try orgs.bundleNames().first ?? "")))
        try orgs.changeHub("UPDATE Account SET Employees = 1 WHERE Id = 1")
        let second = try orgs.export()
        #expect(second.output.contains("acknowledged bundle 1"))
        #expect(try orgs.bundleNames().count == 1)  // bundle 1 removed, bundle 2 waiting
        let status = try orgs.status("hub")
        let spoke = (status["spokes"] as? [[String: Any]])?.first
        #expect(spoke?["acknowledgedSequence"] as? Int == 1)
        #expect(spoke?["lastSequence"] as? Int == 2)
        #expect(spoke?["acknowledgedAt"] as? String != nil)
    }

    @Test func aWriteProtectedDropStillImportsWithAWarning() throws {
        let orgs = try TwoOrgs()
        let code = try orgs.invite()
        try orgs.expectSuccess(["--home", "spoke", "spoke", "accept", code, "--drop", "drop", "--yes"])
        try orgs.expectSuccess(["--home", "hub", "hub", "export", "--drop", "drop"])
        try makeReadOnly(orgs.dropPath)
        defer { makeWritable(orgs.dropPath) }
        let synced = try orgs.sync()
        #expect(synced.status == 0, "\(synced.errors)")
        #expect(synced.errors.contains("no receipt was written"))
        try orgs.expectSpokeMatchesHub()
    }

    @Test func aMissingBundleStopsTheImportUntilAFullExport() throws {
        let orgs = try TwoOrgs()
        try orgs.connect()
        try orgs.changeHub("UPDATE Account SET Employees = 2 WHERE Id = 2")
        #expect(try orgs.export().status == 0)
        let lost = try #require(try orgs.bundleNames().last)
        try orgs.changeHub("UPDATE Account SET Employees = 3 WHERE Id = 3")
        #expect(try orgs.export().status == 0)
        try FileManager.default.removeItem(atPath: orgs.dropPath + "/" + lost)
        let before = try orgs.status("spoke")["hubs"] as? [[String: Any]]

        let gap = try orgs.sync()
        #expect(gap.status == 66)
        #expect(gap.errors.contains("Bundle 2"))
        #expect(gap.errors.contains("--full"))
        let after = try orgs.status("spoke")["hubs"] as? [[String: Any]]
        #expect(after?.first?["appliedSequence"] as? Int == before?.first?["appliedSequence"] as? Int)

        let full = try orgs.export(["--full", "globex"])
        #expect(full.status == 0)
        #expect(full.output.contains("(snapshot)"))
        let recovered = try orgs.sync()
        #expect(recovered.status == 0, "\(recovered.errors)")
        #expect(recovered.output.contains("superseded"))
        try orgs.expectSpokeMatchesHub()
    }

    @Test func aFullSnapshotReplacesWhateverTheSpokeHad() throws {
        let orgs = try TwoOrgs()
        try orgs.connect()
        // Someone edits the read-only copies on the spoke; a full export puts them right.
        try Database(path: orgs.spokeDatabase).execute(
            "DELETE FROM Account__xo WHERE Id = 1; INSERT INTO Product__xo(Code, Name) VALUES ('BOGUS', 'x')")
        #expect(try orgs.export(["--full"]).status == 0)
        #expect(try orgs.sync().status == 0)
        try orgs.expectSpokeMatchesHub()
    }

    @Test func replaysAndDuplicatesAreToldApart() throws {
        let orgs = try TwoOrgs()
        try orgs.connect()
        let first = try #require(try orgs.bundleNames().first)
        let keep = orgs.directory.file("kept.xob")
        try FileManager.default.copyItem(atPath: orgs.dropPath + "/" + first, toPath: keep)
        try orgs.changeHub("UPDATE Account SET Employees = 5 WHERE Id = 5")
        #expect(try orgs.export().status == 0)
        #expect(try orgs.sync().status == 0)

        // The very bundle applied, copied back: skipped, and safe.
        try FileManager.default.copyItem(atPath: keep, toPath: orgs.dropPath + "/" + first)
        let duplicate = try orgs.sync()
        #expect(duplicate.status == 0)
        #expect(duplicate.output.contains("already applied"))
        try FileManager.default.removeItem(atPath: orgs.dropPath + "/" + first)

        // Another bundle under an old name: refused, nothing changed.
        let second = try #require(try orgs.bundleNames().last)
        try FileManager.default.copyItem(atPath: orgs.dropPath + "/" + second, toPath: orgs.dropPath + "/" + first)
        let replay = try orgs.sync()
        #expect(replay.status == 65)
        #expect(replay.errors.contains("replay"))
        try orgs.expectSpokeMatchesHub()
    }

    @Test func metadataChangesFollowOnTheNextSync() throws {
        let orgs = try TwoOrgs()
        try orgs.connect()
        func columns(_ table: String) throws -> [String] {
            try Database(path: orgs.spokeDatabase, mode: .readOnly)
                .rows("SELECT name FROM pragma_table_info(?)", [.string(table)]).map { $0[0].description }
        }
        // A field added, a field removed, an object unshared, a column's type changed.
        try orgs.expectSuccess(["--home", "hub", "hub", "share", "Account", "Id", "Name", "Industry", "InternalNotes"])
        try orgs.expectSuccess(["--home", "hub", "hub", "unshare", "Contact"])
        try orgs.changeHub(
            """
            CREATE TABLE Product2 (Code TEXT PRIMARY KEY, Name TEXT, ListPrice TEXT, Quantity INTEGER, Datasheet BLOB,
                Active INTEGER, Cost REAL) WITHOUT ROWID;
            INSERT INTO Product2 SELECT Code, Name, CAST(ListPrice AS TEXT), Quantity, Datasheet, Active, Cost FROM Product;
            DROP TABLE Product; ALTER TABLE Product2 RENAME TO Product;
            """)
        #expect(try orgs.export().status == 0)
        #expect(try orgs.sync().status == 0)
        #expect(try columns("Account__xo") == ["Id", "Name", "Industry", "InternalNotes"])
        #expect(try columns("Contact__xo").isEmpty)
        let types = try Database(path: orgs.spokeDatabase, mode: .readOnly)
            .rows("SELECT type FROM pragma_table_info('Product__xo') WHERE name = 'ListPrice'")
        #expect(types == [[.string("TEXT")]])
        try orgs.expectSpokeMatchesHub([
            ("Account", "Id", ["Id", "Name", "Industry", "InternalNotes"], ""),
            ("Product", "Code", ["Code", "Name", "ListPrice", "Quantity", "Datasheet", "Active"], "Cost"),
        ])
    }

    @Test(arguments: [false, true])
    func revocationEndsTheConnection(purge: Bool) throws {
        let orgs = try TwoOrgs()
        try orgs.connect()
        var arguments = ["--home", "hub", "hub", "revoke", "globex", "--drop", "drop"]
        if purge { arguments.append("--purge") }
        try orgs.expectSuccess(arguments)
        #expect(try orgs.states("hub", "spokes") == ["Revoked"])
        let synced = try orgs.sync()
        #expect(synced.status == 0)
        #expect(synced.output.contains("revoked"))
        #expect(try orgs.states("spoke", "hubs") == ["Revoked"])
        let tables = try Database(path: orgs.spokeDatabase, mode: .readOnly)
            .rows("SELECT count(*) FROM sqlite_schema WHERE name IN ('Account__xo', 'Product__xo', 'Contact__xo')")
        #expect(tables == [[.integer(purge ? 0 : 3)]])
        // No more bundles for it.
        try orgs.changeHub("UPDATE Account SET Employees = 9 WHERE Id = 1")
        let after = try orgs.export()
        #expect(after.status == 0)
        #expect(!after.output.contains("Wrote"))
    }

    @Test func aCancelledInvitationIsRefusedAtExport() throws {
        let orgs = try TwoOrgs()
        let code = try orgs.invite()
        try orgs.expectSuccess(["--home", "spoke", "spoke", "accept", code, "--drop", "drop", "--yes"])
        try orgs.expectSuccess(["--home", "hub", "hub", "uninvite", "globex"])
        #expect(try orgs.states("hub", "spokes") == ["Cancelled"])
        let exported = try orgs.export()
        #expect(exported.status == 65)
        #expect(exported.errors.contains("cancelled"))
        #expect(try orgs.states("hub", "spokes") == ["Cancelled"])
    }

    @Test func oneHubServesManySpokesAndNoneBlocksAnother() throws {
        let orgs = try TwoOrgs()
        try loadFixture("spoke.sql", into: orgs.directory.file("initech.db"))
        try orgs.expectSuccess(["--home", "initech", "init", "--org", "Initech", "--db", "initech.db"])
        let globexCode = try orgs.invite("globex")
        let initechCode = try orgs.invite("initech")
        try orgs.expectSuccess(["--home", "spoke", "spoke", "accept", globexCode, "--drop", "drop", "--yes"])
        try orgs.expectSuccess(["--home", "initech", "spoke", "accept", initechCode, "--drop", "drop", "--yes"])
        #expect(try orgs.export().status == 0)
        #expect(try orgs.sync("spoke").status == 0)
        // Initech never syncs; Globex goes on receiving changes.
        for round in 1...3 {
            try orgs.changeHub("UPDATE Account SET Employees = \(round) WHERE Id = 1")
            #expect(try orgs.export().status == 0)
            #expect(try orgs.sync("spoke").status == 0)
            try orgs.expectSpokeMatchesHub()
        }
        // Initech catches up in one go, from the bundles kept for it.
        #expect(try orgs.sync("initech").status == 0)
        try orgs.expectSpokeMatchesHub(spoke: orgs.directory.file("initech.db"))
        #expect(try orgs.states("hub", "spokes") == ["Connected", "Connected"])
    }

    @Test func twoHubsSharingAnObjectOfTheSameNameNeedAPrefix() throws {
        let orgs = try TwoOrgs()
        try orgs.connect()
        // A second hub sharing its own Account.
        try loadFixture("hub.sql", into: orgs.directory.file("umbrella.db"))
        try orgs.expectSuccess(["--home", "umbrella", "init", "--org", "Umbrella", "--db", "umbrella.db"])
        try orgs.expectSuccess(["--home", "umbrella", "hub", "share", "Account", "Id", "Name"])
        let code = try orgs.expectSuccess(["--home", "umbrella", "hub", "invite", "globex"]).output
            .trimmingCharacters(in: .whitespacesAndNewlines)
        try orgs.expectSuccess(["--home", "spoke", "spoke", "accept", code, "--drop", "drop", "--yes"])
        try orgs.expectSuccess(["--home", "umbrella", "hub", "export", "--drop", "drop"])
        let clash = try orgs.sync()
        #expect(clash.status == 78)
        #expect(clash.errors.contains("--prefix"))
        try orgs.expectSpokeMatchesHub()

        let second = try orgs.expectSuccess(["--home", "umbrella", "hub", "invite", "globex2"]).output
            .trimmingCharacters(in: .whitespacesAndNewlines)
        try orgs.expectSuccess([
            "--home", "spoke", "spoke", "accept", second, "--drop", "drop", "--yes", "--name", "umbrella2",
            "--prefix", "umbrella_",
        ])
        try orgs.expectSuccess(["--home", "umbrella", "hub", "export", "--drop", "drop"])
        let synced = try orgs.sync()
        #expect(synced.status == 78)  // the first Umbrella connection still clashes, and says so
        let rows = try Database(path: orgs.spokeDatabase, mode: .readOnly).rows(
            "SELECT count(*) FROM umbrella_Account__xo")
        #expect(rows == [[.integer(8)]])
    }
}

/// Makes a folder impossible to write to, even for root (an immutable flag), as a write-protected stick is.
func makeReadOnly(_ path: String) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/chattr")
    process.arguments = ["+i", path]
    try process.run()
    process.waitUntilExit()
    #expect(!FileManager.default.createFile(atPath: path + "/probe", contents: Data()), "the folder is still writable")
}

func makeWritable(_ path: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/chattr")
    process.arguments = ["-i", path]
    try? process.run()
    process.waitUntilExit()
}

/// Expiry, with the clock moved by XOSHARE_TEST_NOW (a hook for tests only).
@Suite struct FreshnessTests {
    let now = Int64(Date().timeIntervalSince1970)

    func later(_ days: Int64) -> [String: String] { ["XOSHARE_TEST_NOW": String(now + days * 86_400)] }

    @Test func anExpiredBundleIsRefusedAndAFreshOneIsNot() throws {
        let orgs = try TwoOrgs()
        let code = try orgs.invite()
        try orgs.expectSuccess(["--home", "spoke", "spoke", "accept", code, "--drop", "drop", "--yes"])
        #expect(try orgs.export(["--expires", "2"]).status == 0)
        let expired = try orgs.run(["--home", "spoke", "spoke", "sync", "--drop", "drop"], environment: later(3))
        #expect(expired.status == 65)
        #expect(expired.errors.contains("expired"))
        #expect(try orgs.states("spoke", "hubs") == ["Contacting Hub"])
        let fresh = try orgs.run(["--home", "spoke", "spoke", "sync", "--drop", "drop"], environment: later(1))
        #expect(fresh.status == 0, "\(fresh.errors)")
        let status = try orgs.status("spoke")["hubs"] as? [[String: Any]]
        #expect(status?.first?["createdAtHub"] as? String != nil)
        #expect(status?.first?["appliedAt"] as? String != nil)
    }

    @Test func anExpiredInvitationIsRefusedAtAcceptAndAtExport() throws {
        let orgs = try TwoOrgs()
        let code = try orgs.expectSuccess(["--home", "hub", "hub", "invite", "globex", "--expires", "1"]).output
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let late = try orgs.run(
            ["--home", "spoke", "spoke", "accept", code, "--drop", "drop", "--yes"], environment: later(2))
        #expect(late.status == 65)
        #expect(late.errors.contains("expired"))
        #expect(try orgs.states("spoke", "hubs").isEmpty)
        // Accepted in time, carried to the hub after the expiry: the acceptance's own
        // (authenticated) time counts, so the connection is made.
        try orgs.expectSuccess(["--home", "spoke", "spoke", "accept", code, "--drop", "drop", "--yes"])
        let exported = try orgs.run(["--home", "hub", "hub", "export", "--drop", "drop"], environment: later(2))
        #expect(exported.status == 0, "\(exported.errors)")
        #expect(try orgs.states("hub", "spokes") == ["Connected"])
    }
}
