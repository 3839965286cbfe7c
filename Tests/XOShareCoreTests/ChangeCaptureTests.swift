import Foundation
import Testing
import XOShareTestSupport

@testable import XOShareCore

/// `hub capture on`: the export reads the records the org database's change log
/// names, and compares every record whenever the log might have missed one.
@Suite struct ChangeCaptureTests {
    /// Connected orgs with capture on, after the first snapshot was applied and the
    /// first delta (the run that establishes the log) as well.
    func capturingOrgs(warnings: Warnings = Warnings()) throws -> ConnectedOrgs {
        let orgs = try ConnectedOrgs(
            environment: Environment(
                report: { event in if case .warning(let text) = event { warnings.append(text) } }, lockTimeout: 0))
        let report = try orgs.hub.enableChangeCapture()
        #expect(report.objects == fixtureShares.map(\.object).sorted())
        #expect(report.ineligible.isEmpty)
        #expect(try orgs.hub.export(to: orgs.drop).count == 1)
        #expect(try orgs.spoke.sync(from: orgs.drop).applied == 1)
        return orgs
    }

    func hub(_ orgs: ConnectedOrgs) throws -> Database { try Database(path: orgs.directory.file("hub.db")) }

    func expectSpokeMatchesHub(_ orgs: ConnectedOrgs, sourceLocation: SourceLocation = #_sourceLocation) throws {
        for share in fixtureShares {
            let hub = try tableContents(
                orgs.directory.file("hub.db"), table: share.object, columns: share.fields, key: share.key)
            let spoke = try tableContents(
                orgs.directory.file("spoke.db"), table: share.object + "__xo", columns: share.fields, key: share.key)
            #expect(identical(hub, spoke), "\(share.object)", sourceLocation: sourceLocation)
        }
    }

    func logCount(_ orgs: ConnectedOrgs) throws -> Int64 {
        try hub(orgs).rows("SELECT count(*) FROM xoshare_change_log")[0][0].integer ?? -1
    }

    /// Exports and syncs; returns the records of the one bundle written (nil: none).
    @discardableResult
    func exchange(_ orgs: ConnectedOrgs, options: ExportOptions = ExportOptions()) throws -> Int64? {
        let written = try orgs.hub.export(to: orgs.drop, options: options)
        guard let bundle = written.first else { return nil }
        #expect(try orgs.spoke.sync(from: orgs.drop).applied == 1)
        return bundle.bundle.recordCounts.reduce(0, +)
    }

    /// The triggers log each kind of change, the export reads the log (a change whose
    /// log rows are removed goes unseen until --rescan), and the rows read are trimmed.
    @Test func theExportReadsWhatTheLogNames() throws {
        let orgs = try capturingOrgs()
        #expect(try logCount(orgs) == 0)
        try hub(orgs).execute(
            """
            UPDATE Account SET Employees = Employees + 1 WHERE Id = 1;
            UPDATE Account SET Id = 77 WHERE Id = 2;
            DELETE FROM Contact WHERE ContactId = 101;
            INSERT INTO Product (Code, Name) VALUES ('NEW-1', 'New');
            INSERT OR REPLACE INTO Product (Code, Name, ListPrice) VALUES ('WIDGET-001', 'Widget', 19.99);
            UPDATE Account SET Name = Name WHERE Id = 3;
            INSERT INTO Account (Id, Name) VALUES (500, 'Gone again'); DELETE FROM Account WHERE Id = 500;
            """)
        // 1 + 2 (old and new key) + 1 + 1 + 1 + 1 + 2
        #expect(try logCount(orgs) == 9)
        // Account 1, 2 (deleted), 77; Contact 101 (deleted); NEW-1; WIDGET-001 (Quantity, Datasheet... now NULL).
        // Account 3 did not change; Account 500 never reached a spoke.
        #expect(try exchange(orgs) == 6)
        try expectSpokeMatchesHub(orgs)
        #expect(try logCount(orgs) == 0)
        // The rows read are gone; the place read up to stays, numbers are never reused.
        #expect(try hub(orgs).rows("SELECT seq FROM xoshare_change_log_reader") == [[.integer(9)]])

        // A change the log does not name is not looked for ...
        try hub(orgs).execute(
            "UPDATE Account SET Employees = 12345 WHERE Id = 4; DELETE FROM xoshare_change_log;")
        #expect(try exchange(orgs) == nil)
        // ... until --rescan compares every record.
        #expect(try exchange(orgs, options: ExportOptions(rescan: true)) == 1)
        try expectSpokeMatchesHub(orgs)
        #expect(try exchange(orgs) == nil)
    }

    /// What changed between the last export without capture and the first with it is
    /// not in the log: that export compares everything.
    @Test func theFirstExportWithCaptureComparesEverything() throws {
        let orgs = try ConnectedOrgs()
        #expect(try exchange(orgs) != nil)
        try hub(orgs).execute("UPDATE Account SET Employees = 1 WHERE Id = 1")
        try orgs.hub.enableChangeCapture()
        try hub(orgs).execute("UPDATE Account SET Employees = 2 WHERE Id = 2")
        #expect(try exchange(orgs) == 2)
        try expectSpokeMatchesHub(orgs)
        // Sharing an object again changes nothing in its triggers; a newly shared one
        // is compared in full once.
        try hub(orgs).execute(
            "CREATE TABLE Region (Code TEXT PRIMARY KEY, Name TEXT); INSERT INTO Region VALUES ('N', 'North')")
        try orgs.hub.share(object: "Region", fields: [])
        try hub(orgs).execute("UPDATE Region SET Name = 'Nord'")
        #expect(try exchange(orgs) == 1)
        let region = try Database(path: orgs.directory.file("spoke.db")).rows("SELECT Code, Name FROM Region__xo")
        #expect(region == [[.string("N"), .string("Nord")]])
        try hub(orgs).execute("UPDATE Region SET Name = 'Norte'")
        #expect(try exchange(orgs) == 1)
    }

    /// Triggers dropped with a rebuilt table: the export writes them again, says so,
    /// and compares that object in full, so the changes made meanwhile arrive.
    @Test func missingTriggersAreWrittenAgainAndTheObjectComparedInFull() throws {
        let warnings = Warnings()
        let orgs = try capturingOrgs(warnings: warnings)
        try hub(orgs).execute(
            """
            DROP TRIGGER xoshare_capture_Account_update;
            UPDATE Account SET Employees = 999 WHERE Id = 1;
            UPDATE Contact SET Email = 'x@example.com' WHERE ContactId = 100;
            DELETE FROM xoshare_change_log;
            """)
        #expect(try exchange(orgs) == 1)  // Account 1; Contact's change was only in the log
        #expect(warnings.all.count == 1)
        #expect(warnings.all.first?.contains("triggers of Account were missing") == true)
        let triggers = try ChangeCapture.installedTriggers(in: try hub(orgs))
        #expect(triggers.count == 3 * fixtureShares.count)
        // From the next export on, the log stands in for Account again.
        try hub(orgs).execute("UPDATE Account SET Employees = 1000 WHERE Id = 1; DELETE FROM xoshare_change_log;")
        #expect(try exchange(orgs) == nil)
        #expect(try exchange(orgs, options: ExportOptions(rescan: true)) == 2)
        try expectSpokeMatchesHub(orgs)
    }

    /// A hub database put back to an earlier copy: the log no longer continues from the
    /// last export, so the export compares everything and the reverted records arrive.
    @Test func aRestoredDatabaseIsComparedInFull() throws {
        let warnings = Warnings()
        let orgs = try capturingOrgs(warnings: warnings)
        let backup = orgs.directory.file("hub-backup.db")
        try FileManager.default.copyItem(atPath: orgs.directory.file("hub.db"), toPath: backup)
        try hub(orgs).execute(
            "UPDATE Account SET Name = 'Changed' WHERE Id = 1; DELETE FROM Contact WHERE ContactId = 100;")
        #expect(try exchange(orgs) == 2)
        try FileManager.default.removeItem(atPath: orgs.directory.file("hub.db"))
        try FileManager.default.copyItem(atPath: backup, toPath: orgs.directory.file("hub.db"))
        #expect(try exchange(orgs) == 2)
        #expect(warnings.all.count == 1)
        #expect(warnings.all.first?.contains("does not continue from the last export") == true)
        try expectSpokeMatchesHub(orgs)
        // Trusted again afterwards.
        try hub(orgs).execute("UPDATE Account SET Name = 'Again' WHERE Id = 1")
        #expect(try exchange(orgs) == 1)
        #expect(warnings.all.count == 1)
    }

    /// INSERT OR REPLACE can remove a record for the sake of another UNIQUE column,
    /// firing no trigger: such a table gets none and is compared in full every time.
    @Test func aTableWithAnotherUniqueConstraintIsComparedInFull() throws {
        let orgs = try ConnectedOrgs()
        try hub(orgs).execute(
            """
            CREATE TABLE Region (Id INTEGER PRIMARY KEY, Code TEXT UNIQUE, Name TEXT);
            INSERT INTO Region VALUES (1, 'N', 'North'), (2, 'S', 'South');
            """)
        try orgs.hub.share(object: "Region", fields: [])
        let report = try orgs.hub.enableChangeCapture()
        #expect(report.ineligible.keys.sorted() == ["Region"])
        #expect(report.ineligible["Region"]?.contains("UNIQUE") == true)
        #expect(!report.objects.contains("Region"))
        #expect(try exchange(orgs) != nil)
        #expect(try exchange(orgs) == nil)
        try hub(orgs).execute("INSERT OR REPLACE INTO Region VALUES (3, 'N', 'Nord')")  // removes record 1
        #expect(try exchange(orgs) == 2)
        let region = try Database(path: orgs.directory.file("spoke.db")).rows(
            "SELECT Id, Code FROM Region__xo ORDER BY Id")
        #expect(region == [[.integer(2), .string("S")], [.integer(3), .string("N")]])
        #expect(try ChangeCapture.installedTriggers(in: try hub(orgs)).values.allSatisfy { $0.table != "Region" })
    }

    /// Unsharing drops an object's triggers; `capture off` leaves nothing of xoshare in
    /// the org database, and exports go on comparing in full.
    @Test func unshareAndCaptureOffRemoveWhatCaptureAdded() throws {
        let orgs = try capturingOrgs()
        try orgs.hub.unshare(object: "Contact")
        let triggers = try ChangeCapture.installedTriggers(in: try hub(orgs))
        #expect(Set(triggers.values.map(\.table)) == ["Account", "Product"])
        #expect(try exchange(orgs) != nil)  // Contact leaves the spoke
        try orgs.hub.disableChangeCapture()
        #expect(try !orgs.hub.capturesChanges)
        let left = try hub(orgs).rows("SELECT name FROM sqlite_schema WHERE name LIKE 'xoshare%'")
        #expect(left.isEmpty)
        try hub(orgs).execute("UPDATE Account SET Employees = 3 WHERE Id = 3")
        #expect(try exchange(orgs) == 1)
        #expect(try orgs.hub.status().changeCapture == "off")
        // On again: the first export compares everything, then the log is used.
        try orgs.hub.enableChangeCapture()
        #expect(try orgs.hub.status().changeCapture == "on")
        try hub(orgs).execute("UPDATE Account SET Employees = 4 WHERE Id = 3")
        #expect(try exchange(orgs) == 1)
        #expect(try logCount(orgs) == 0)
    }

    /// After a run with nothing to export, a spoke's delta is read from the tracking
    /// rows, which log-driven runs keep exactly as full comparisons would.
    @Test func aDeltaAfterAnEmptyRunComesFromTheTrackingRows() throws {
        let orgs = try capturingOrgs()
        for step in 0..<3 {
            #expect(try exchange(orgs) == nil)
            try hub(orgs).execute(
                """
                UPDATE Account SET Employees = \(10 + step) WHERE Id = 2;
                DELETE FROM Contact WHERE ContactId = \(100 + step);
                INSERT INTO Product (Code, Name) VALUES ('P\(step)', 'New \(step)');
                """)
            #expect(try exchange(orgs) == 3)
            try expectSpokeMatchesHub(orgs)
        }
    }
}

extension ChangeCaptureTests {
    /// With everything in place and nothing changed, an export with capture on does not
    /// write to the org database at all (not even to lock it for writing).
    @Test func anExportWithNothingNewLeavesTheOrgDatabaseUntouched() throws {
        let orgs = try capturingOrgs()
        try hub(orgs).execute("UPDATE Account SET Employees = 8 WHERE Id = 1")
        #expect(try exchange(orgs) == 1)
        let before = try Data(contentsOf: URL(fileURLWithPath: orgs.directory.file("hub.db")))
        #expect(try exchange(orgs) == nil)
        #expect(try exchange(orgs) == nil)
        let after = try Data(contentsOf: URL(fileURLWithPath: orgs.directory.file("hub.db")))
        #expect(before == after)
    }
}

extension ChangeCaptureTests {
    /// An org database another program holds locked: `capture on` fails with "try again
    /// later" and leaves capture off, so exports go on as before.
    @Test func captureOnThatCannotWriteLeavesCaptureOff() throws {
        let orgs = try ConnectedOrgs()
        let other = try hub(orgs)
        try other.execute("BEGIN EXCLUSIVE")
        do {
            try orgs.hub.enableChangeCapture()
            Issue.record("capture on succeeded on a locked database")
        } catch let error as DatabaseError {
            #expect(error.exitCode == .temporaryFailure)
        }
        try other.execute("ROLLBACK")
        #expect(try !orgs.hub.capturesChanges)
        #expect(try ChangeCapture.installedTriggers(in: try hub(orgs)).isEmpty)
        #expect(try exchange(orgs) != nil)
        try expectSpokeMatchesHub(orgs)
    }
}
