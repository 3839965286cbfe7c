import Foundation
import Testing
import XOShareCore
import XOShareTestSupport

/// A run killed with SIGKILL at any point loses nothing: the next run finishes the work.
@Suite struct CrashTests {
    static let exportPoints = [
        "export.record:1", "export.record:7", "export.written", "export.committed", "export.published",
    ]
    static let syncPoints = ["sync.record:1", "sync.record:9", "sync.applied", "sync.committed"]

    /// Thirty changes at the hub, so that a delta holds many records to be killed among.
    func changeManyRecords(_ orgs: TwoOrgs) throws {
        try orgs.changeHub(
            """
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 25)
            INSERT INTO Account(Id, Name, Employees) SELECT 5000 + i, 'Batch ' || i, i FROM n;
            UPDATE Account SET Employees = Employees + 1 WHERE Id < 5;
            DELETE FROM Contact WHERE ContactId = 100;
            """)
    }

    /// Two orgs about to exchange either their first bundle (a snapshot) or a delta of many records.
    func prepare(firstBundle: Bool) throws -> TwoOrgs {
        let orgs = try TwoOrgs()
        if firstBundle {
            let code = try orgs.invite()
            try orgs.expectSuccess(["--home", "spoke", "spoke", "accept", code, "--drop", "drop", "--yes"])
        } else {
            try orgs.connect()
            try changeManyRecords(orgs)
        }
        return orgs
    }

    func killed(_ result: RunResult, _ point: String) {
        // A process killed by a signal has no exit code of its own; Foundation reports the signal.
        #expect(result.status == SIGKILL, "\(point) was not reached: \(result.errors)")
    }

    @Test(arguments: exportPoints)
    func anExportKilledAnywhereIsFinishedByTheNextRun(point: String) throws {
        for firstBundle in [true, false] {
            let orgs = try prepare(firstBundle: firstBundle)
            let crash = try orgs.run(
                ["--home", "hub", "hub", "export", "--drop", "drop"], environment: ["XOSHARE_TEST_KILL_AT": point])
            killed(crash, point)
            // Whatever the spoke finds meanwhile is complete and genuine, or not yet there.
            let meanwhile = try orgs.sync()
            #expect([0, 75].contains(meanwhile.status), "\(point): \(meanwhile.errors)")
            #expect(try orgs.export().status == 0)
            let synced = try orgs.sync()
            #expect(synced.status == 0, "\(point): \(synced.errors)")
            try orgs.expectSpokeMatchesHub()
            #expect(try orgs.states("spoke", "hubs") == ["Connected"])
        }
    }

    /// With change capture on, a run killed between its commit and telling the org
    /// database how far it read the log: the next run notices and compares everything;
    /// killed later, it had told it. Either way the spoke ends equal to the hub.
    @Test(arguments: ["export.committed", "export.published"])
    func anExportWithChangeCaptureKilledAfterItsCommitIsCaughtUp(point: String) throws {
        let orgs = try TwoOrgs()
        try orgs.expectSuccess(["--home", "hub", "hub", "capture", "on"])
        try orgs.connect()
        try changeManyRecords(orgs)
        killed(
            try orgs.run(
                ["--home", "hub", "hub", "export", "--drop", "drop"], environment: ["XOSHARE_TEST_KILL_AT": point]),
            point)
        try orgs.changeHub("UPDATE Account SET Employees = 42 WHERE Id = 1")
        let export = try orgs.export()
        #expect(export.status == 0, "\(point): \(export.errors)")
        #expect(
            export.errors.contains("does not continue from the last export") == (point == "export.committed"),
            "\(point): \(export.errors)")
        #expect(try orgs.sync().status == 0)
        try orgs.expectSpokeMatchesHub()
        // And the log is trusted again: one change, one record, no warning.
        try orgs.changeHub("UPDATE Account SET Employees = 43 WHERE Id = 1")
        let next = try orgs.export()
        #expect(next.status == 0 && !next.errors.contains("warning"), "\(point): \(next.errors)")
        #expect(next.output.contains("1 records"), "\(point): \(next.output)")
        #expect(try orgs.sync().status == 0)
        try orgs.expectSpokeMatchesHub()
    }

    @Test(arguments: syncPoints)
    func aSyncKilledAnywhereChangesNothingHalfway(point: String) throws {
        for firstBundle in [true, false] {
            let orgs = try prepare(firstBundle: firstBundle)
            #expect(try orgs.export().status == 0)
            let before = try orgs.spokeFingerprint()
            let crash = try orgs.run(
                ["--home", "spoke", "spoke", "sync", "--drop", "drop"], environment: ["XOSHARE_TEST_KILL_AT": point])
            killed(crash, point)
            if point != "sync.committed" {
                // Killed before the commit: the database is as it was (its journal rolls back on the next open).
                _ = try orgs.status("spoke")
                #expect(try orgs.spokeFingerprint() == before, "\(point)")
            }
            let synced = try orgs.sync()
            #expect(synced.status == 0, "\(point): \(synced.errors)")
            try orgs.expectSpokeMatchesHub()
            // The receipt reaches the hub even when the kill came between the commit and the receipt.
            #expect(try orgs.export().status == 0)
            let spoke = (try orgs.status("hub")["spokes"] as? [[String: Any]])?.first
            #expect(spoke?["acknowledgedSequence"] as? Int == spoke?["lastSequence"] as? Int)
        }
    }

    @Test func anAcceptKilledAfterWritingCanBeRunAgain() throws {
        let orgs = try TwoOrgs()
        let code = try orgs.invite()
        let crash = try orgs.run(
            ["--home", "spoke", "spoke", "accept", code, "--drop", "drop", "--yes"],
            environment: ["XOSHARE_TEST_KILL_AT": "accept.written"])
        killed(crash, "accept.written")
        try orgs.expectSuccess(["--home", "spoke", "spoke", "accept", code, "--drop", "drop", "--yes"])
        #expect(try orgs.export().status == 0)
        #expect(try orgs.sync().status == 0)
        try orgs.expectSpokeMatchesHub()
    }
}
