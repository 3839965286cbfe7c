import Foundation
import Testing
import XOShareCore
import XOShareTestSupport

/// The user's flows, through the built binary, on the fixtures.
@Suite struct ExchangeTests {
    @Test func theWholeExchangeCopiesEverySharedValueAndNothingElse() throws {
        let setup = try TwoOrgs()
        let code = try setup.invite()
        #expect(code.hasPrefix("XO1-") && !code.contains("\n"))
        #expect(try setup.states("hub", "spokes") == ["Pending"])

        // The person sees the hub's name and fingerprint, and confirms.
        let hubFingerprint = try setup.status("hub")["fingerprint"] as? String ?? "?"
        let accepted = try setup.expectSuccess(
            ["--home", "spoke", "spoke", "accept", code, "--drop", "drop"], input: "y\n")
        #expect(accepted.errors.contains("Acme Corp"))
        #expect(accepted.errors.contains(hubFingerprint))
        #expect(try setup.states("spoke", "hubs") == ["Contacting Hub"])

        let exported = try setup.expectSuccess(["--home", "hub", "hub", "export", "--drop", "drop"])
        #expect(exported.output.contains("Connected"))
        #expect(exported.output.contains("20 records"))
        #expect(try setup.states("hub", "spokes") == ["Connected"])

        let synced = try setup.expectSuccess(["--home", "spoke", "spoke", "sync", "--drop", "drop"])
        #expect(synced.output.contains("Applied"))
        #expect(try setup.states("spoke", "hubs") == ["Connected"])

        for share in fixtureShares {
            let hubRows = try tableContents(
                setup.directory.file("hub.db"), table: share.object, columns: share.fields, key: share.key)
            let spokeRows = try tableContents(
                setup.directory.file("spoke.db"), table: share.object + "__xo", columns: share.fields, key: share.key)
            #expect(hubRows.count > 0)
            #expect(identical(hubRows, spokeRows), "\(share.object)__xo differs from the hub's shared columns")
            let columns = try Database(path: setup.directory.file("spoke.db"), mode: .readOnly)
                .rows("SELECT name FROM pragma_table_info(?)", [.string(share.object + "__xo")]).map { $0[0] }
            #expect(!columns.contains(.string(share.hidden)), "\(share.hidden) reached the spoke")
        }

        // A second sync is safe and applies nothing.
        let again = try setup.expectSuccess(["--home", "spoke", "spoke", "sync", "--drop", "drop", "--json"])
        let summary = try JSONSerialization.jsonObject(with: Data(again.output.utf8)) as? [String: Any]
        #expect((summary?["applied"] as? [Any])?.count == 0)
        #expect((summary?["skipped"] as? [Any])?.count == 1)
    }

    @Test func declinedConfirmationAcceptsNothing() throws {
        let setup = try TwoOrgs()
        let code = try setup.invite()
        let declined = try setup.run(["--home", "spoke", "spoke", "accept", code, "--drop", "drop"], input: "n\n")
        #expect(declined.status == 64)
        let closed = try setup.run(["--home", "spoke", "spoke", "accept", code, "--drop", "drop"])
        #expect(closed.status == 64)
        #expect(closed.errors.contains("--yes"))
        #expect(try setup.states("spoke", "hubs").isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: setup.directory.file("drop")).isEmpty)
    }

    @Test(arguments: [0, 7, 20, 100, 223, 224, 250, 287, 288, 300, -40, -1])
    func aFlippedByteIsRefusedWithExit65(offset: Int) throws {
        let setup = try TwoOrgs()
        let bundle = try setup.connectAndExport()
        let size = try FileManager.default.attributesOfItem(atPath: bundle)[.size] as? Int ?? 0
        let position = offset >= 0 ? offset : size + offset
        try flipByte(in: bundle, at: position)
        let before = try setup.spokeFingerprint()
        let result = try setup.run(["--home", "spoke", "spoke", "sync", "--drop", "drop"])
        #expect(result.status == 65, "byte \(position): \(result.errors)")
        #expect(result.errors.contains("not applied"))
        #expect(try setup.spokeFingerprint() == before)
        #expect(try setup.states("spoke", "hubs") == ["Contacting Hub"])
    }

    @Test func aTruncatedBundleIsNotAppliedAndTheExitCodeSaysWhetherToRetry() throws {
        let setup = try TwoOrgs()
        let bundle = try setup.connectAndExport()
        let original = try Data(contentsOf: URL(fileURLWithPath: bundle))
        let before = try setup.spokeFingerprint()
        for (length, expected) in [(100, Int32(65)), (288, 75), (original.count - 1, 75)] {
            try truncateFile(bundle, to: length)
            let result = try setup.run(["--home", "spoke", "spoke", "sync", "--drop", "drop"])
            #expect(result.status == expected, "cut at \(length): \(result.errors)")
            #expect(try setup.spokeFingerprint() == before)
            try original.write(to: URL(fileURLWithPath: bundle))
        }
        // Once the copy is complete, the same run succeeds.
        try setup.expectSuccess(["--home", "spoke", "spoke", "sync", "--drop", "drop"])
        #expect(try setup.states("spoke", "hubs") == ["Connected"])
    }

    @Test func badCodesAreRefusedWithExit65() throws {
        let setup = try TwoOrgs()
        let code = try setup.invite()
        var typo = Array(code)
        typo[10] = typo[10] == "A" ? "B" : "A"
        let mistyped = try setup.run(["--home", "spoke", "spoke", "accept", String(typo), "--drop", "drop", "--yes"])
        #expect(mistyped.status == 65)
        #expect(mistyped.errors.contains("mistyped"))
        let cut = try setup.run([
            "--home", "spoke", "spoke", "accept", String(code.prefix(40)), "--drop", "drop", "--yes",
        ])
        #expect(cut.status == 65)
        try setup.expectSuccess(["--home", "spoke", "spoke", "accept", code, "--drop", "drop", "--yes"])
        let twice = try setup.run([
            "--home", "spoke", "spoke", "accept", code, "--drop", "drop", "--yes", "--name", "other",
        ])
        #expect(twice.status == 65)
        #expect(twice.errors.contains("already accepted"))
    }

    @Test func aForgedAcceptanceLeavesTheSpokePending() throws {
        let setup = try TwoOrgs()
        let code = try InvitationCode(parsing: try setup.invite())
        let forged = try Acceptance(
            connection: code.connectionID, spokeOrg: "Mallory", spokePublicKey: try SigningKey().publicKey,
            acceptedAt: 0,
            secret: try randomBytes(16))
        try Data(try forged.encoded()).write(
            to: URL(fileURLWithPath: setup.directory.file("drop/xo-accept-\(code.connectionID).json")))
        let result = try setup.run(["--home", "hub", "hub", "export", "--drop", "drop"])
        #expect(result.status == 65)
        #expect(result.errors.contains("not authenticated"))
        #expect(try setup.states("hub", "spokes") == ["Pending"])
    }

    @Test func operationalErrorsHaveTheirDocumentedExitCodes() throws {
        let setup = try TwoOrgs()
        #expect(try setup.run(["--home", "nowhere", "status"]).status == 78)
        #expect(try setup.run(["--home", "hub", "hub", "export", "--drop", "missing"]).status == 66)
        #expect(try setup.run(["--home", "hub", "hub", "share", "Nope"]).status == 78)
        #expect(try setup.run(["--home", "hub", "hub", "share", "Account", "Bogus"]).status == 78)
        #expect(try setup.run(["--home", "hub", "frobnicate"]).status == 64)
        #expect(try setup.run(["--home", "hub", "init", "--org", "Again", "--db", "hub.db"]).status == 78)

        // A second run on the same home at once is told who holds it.
        let lock = try HomeLock(home: Home(path: setup.directory.file("hub")), timeout: 0)
        let busy = try setup.run(
            ["--home", "hub", "hub", "export", "--drop", "drop"], environment: ["XOSHARE_LOCK_TIMEOUT": "0.3"])
        #expect(busy.status == 75)
        #expect(busy.errors.contains("pid"))
        withExtendedLifetime(lock) {}

        // A private key others can read is refused, as ssh does.
        let key = setup.directory.file("hub/identity.key")
        chmod(key, 0o644)
        let exposed = try setup.run(["--home", "hub", "status"])
        #expect(exposed.status == 77)
        #expect(exposed.errors.contains("chmod 600"))
        chmod(key, 0o600)
        #expect(try setup.run(["--home", "hub", "status"]).status == 0)
    }

    @Test func jsonErrorsAreMachineReadable() throws {
        let setup = try TwoOrgs()
        let result = try setup.run(["--home", "nowhere", "status", "--json"])
        #expect(result.status == 78)
        let object = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]
        #expect(object?["exitCode"] as? Int == 78)
        #expect((object?["error"] as? String)?.isEmpty == false)
    }
}
