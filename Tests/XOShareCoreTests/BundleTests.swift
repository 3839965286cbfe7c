import Foundation
import Testing
import XOShareCore
import XOShareTestSupport

/// Collects what a bundle holds, for tests that look inside one.
final class CapturingHandler: BundleContentHandler {
    var manifest: Manifest?
    var segments: [[UInt8]] = []
    var summary: Summary?

    func begin(_ manifest: Manifest) throws { self.manifest = manifest }
    func apply(segment: UnsafeRawBufferPointer, ofObject index: Int) throws { segments.append(Array(segment)) }
    func end(_ summary: Summary) throws { self.summary = summary }
}

@Suite struct BundleTests {
    func exported() throws -> ConnectedOrgs {
        let orgs = try ConnectedOrgs()
        let bundles = try orgs.hub.export(to: orgs.drop)
        #expect(bundles.count == 1)
        return orgs
    }

    func trust(_ orgs: ConnectedOrgs) -> TrustedConnection {
        TrustedConnection(
            connectionID: orgs.code.connectionID, hubPublicKey: orgs.code.hubPublicKey, secret: orgs.code.secret,
            hubName: "acme-corp")
    }

    @Test func syncCopiesEverySharedValueExactly() throws {
        let orgs = try exported()
        let outcome = try orgs.spoke.sync(from: orgs.drop)
        #expect(outcome.applied == 1)
        #expect(outcome.failures.isEmpty)
        for share in fixtureShares {
            let hubRows = try tableContents(
                orgs.directory.file("hub.db"), table: share.object, columns: share.fields, key: share.key)
            let spokeRows = try tableContents(
                orgs.directory.file("spoke.db"), table: share.object + "__xo", columns: share.fields, key: share.key)
            #expect(!hubRows.isEmpty)
            #expect(identical(hubRows, spokeRows), "\(share.object) differs")
            let spokeColumns = try Database(path: orgs.directory.file("spoke.db"), mode: .readOnly)
                .rows("SELECT name FROM pragma_table_info(?)", [.string(share.object + "__xo")]).map { $0[0] }
            #expect(spokeColumns == share.fields.map { SQLValue.string($0) })
        }
        let status = try orgs.spoke.status()
        #expect(status.hubs.first?.state == "Connected")
        #expect(status.hubs.first?.objects.map(\.rows) == [8, 7, 5])
        // The spoke's own tables are untouched.
        #expect(
            try tableContents(orgs.directory.file("spoke.db"), table: "Supplier", columns: ["Id"], key: "Id").count == 2
        )
    }

    @Test func anUnsharedFieldIsInNoBundle() throws {
        let orgs = try exported()
        let path = try #require(try orgs.bundlePaths().first)
        let raw = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        let handler = CapturingHandler()
        try VerifiedBundle(path: path, trust: trust(orgs), now: Int64(Date().timeIntervalSince1970)).read(into: handler)
        let manifest = try #require(handler.manifest)
        for share in fixtureShares {
            let object = try #require(manifest.objects.first { $0.name == share.object })
            #expect(object.fields.map(\.name) == share.fields)
        }
        let plaintext = handler.segments.flatMap { $0 }
        for secretValue in ["Late payer in 2024", "Verhandelt hart", "1961-05-01", "Contact via Peter"] {
            #expect(!plaintext.contains(subsequence: Array(secretValue.utf8)), "\(secretValue) leaked")
        }
        // Shared values are in the decrypted records, and none of them is readable in the file.
        #expect(plaintext.contains(subsequence: Array("Globex Corporation".utf8)))
        #expect(!raw.contains(subsequence: Array("Globex Corporation".utf8)))
        #expect(handler.summary?.objects.map(\.records) == [8, 7, 5])
    }

    @Test func aBundleWithAnyByteFlippedIsRefusedAndChangesNothing() throws {
        let orgs = try exported()
        let path = try #require(try orgs.bundlePaths().first)
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        let before = try orgs.spokeFingerprint()
        for offset in 0..<original.count {
            try flipByte(in: path, at: offset)
            let outcome = try orgs.spoke.sync(from: orgs.drop)
            #expect(outcome.applied == 0, "a bundle with byte \(offset) flipped was applied")
            #expect(outcome.failures.map(\.exitCode) == [.dataError], "byte \(offset)")
            try original.write(to: URL(fileURLWithPath: path))
        }
        #expect(try orgs.spokeFingerprint() == before)
        #expect(try orgs.spoke.sync(from: orgs.drop).applied == 1)
    }

    @Test func aTruncatedBundleIsNotAppliedAndSaysWhy() throws {
        let orgs = try exported()
        let path = try #require(try orgs.bundlePaths().first)
        let original = try Data(contentsOf: URL(fileURLWithPath: path))
        let before = try orgs.spokeFingerprint()
        // Every length short of the whole file: never applied; inside the header it can never be
        // completed (65), past it the file may still be arriving (75).
        for length in 0..<original.count {
            try original.prefix(length).write(to: URL(fileURLWithPath: path))
            let outcome = try orgs.spoke.sync(from: orgs.drop)
            #expect(outcome.applied == 0)
            let expected: ExitCode = length < BundleHeader.totalCount ? .dataError : .temporaryFailure
            #expect(outcome.failures.map(\.exitCode) == [expected], "cut at \(length)")
            if length >= BundleHeader.totalCount {
                #expect(outcome.failures.first?.message.contains("incomplete") == true)
            }
        }
        try original.write(to: URL(fileURLWithPath: path))
        // Bytes appended after a complete bundle are refused as well.
        try (original + Data([0])).write(to: URL(fileURLWithPath: path))
        #expect(try orgs.spoke.sync(from: orgs.drop).failures.map(\.exitCode) == [.dataError])
        #expect(try orgs.spokeFingerprint() == before)
    }

    @Test func aBundleUnderAnotherSecretOrKeyIsRefused() throws {
        let orgs = try ConnectedOrgs()
        _ = try orgs.hub.export(to: orgs.drop)  // picks up the acceptance
        for path in try orgs.bundlePaths() { try FileManager.default.removeItem(atPath: path) }
        let manifest = Manifest(
            format: 1, hubOrg: "Acme Corp", connection: orgs.code.connectionID.description, sequence: 1, createdAt: 0,
            kind: "snapshot", objects: [], segmentLimit: 1 << 20)
        let now = Int64(Date().timeIntervalSince1970)
        let before = try orgs.spokeFingerprint()
        let cases: [(secret: [UInt8], key: SigningKey)] = [
            (try randomBytes(16), try orgs.hub.signingKey.get()),  // encrypted under another invitation
            (orgs.code.secret, try SigningKey()),  // signed by another key
        ]
        for (secret, key) in cases {
            let parameters = BundleParameters(
                kind: .snapshot, connectionID: orgs.code.connectionID, secret: secret, sequence: 1,
                previousBundleHash: [UInt8](repeating: 0, count: 32),
                createdAt: now, expiresAt: now + 3600)
            let written = try BundleWriter.write(
                into: orgs.drop, parameters: parameters, signingKey: key, manifest: manifest, streams: [])
            try written.publish()
            let outcome = try orgs.spoke.sync(from: orgs.drop)
            #expect(outcome.failures.map(\.exitCode) == [.dataError])
            #expect(try orgs.spokeFingerprint() == before)
            try FileManager.default.removeItem(atPath: written.path)
        }
    }

    @Test func aRenamedBundleOfAnotherConnectionIsRefused() throws {
        let orgs = try exported()
        let other = try orgs.hub.invite(spokeName: "initech")
        let path = try #require(try orgs.bundlePaths().first)
        // A second org accepts the other invitation, so it trusts the same hub key.
        try loadFixture("spoke.sql", into: orgs.directory.file("initech.db"))
        let initech = try Org.initialise(
            home: Home(path: orgs.directory.file("initechhome")), orgName: "Initech",
            databasePath: orgs.directory.file("initech.db"),
            environment: Environment(lockTimeout: 0))
        _ = try initech.accept(code: other, drop: orgs.drop, localName: nil) { _ in true }
        let renamed = orgs.drop.pathOf(orgs.drop.bundleName(other.connectionID, sequence: 1))
        try FileManager.default.copyItem(atPath: path, toPath: renamed)
        let outcome = try initech.sync(from: orgs.drop)
        #expect(outcome.failures.map(\.exitCode) == [.dataError])
        #expect(outcome.failures.first?.message.contains("belongs to connection") == true)
        #expect(try initech.status().hubs.first?.state == "Contacting Hub")
    }

    @Test func reSyncingIsSafeAndLaterBundlesFollow() throws {
        let orgs = try exported()
        #expect(try orgs.spoke.sync(from: orgs.drop).applied == 1)
        let again = try orgs.spoke.sync(from: orgs.drop)
        #expect(again.applied == 0 && again.skipped == 1 && again.failures.isEmpty)

        let hubDatabase = try Database(path: orgs.directory.file("hub.db"))
        try hubDatabase.execute(
            "UPDATE Account SET Name = 'Globex Renamed' WHERE Id = 1; DELETE FROM Contact WHERE ContactId = 101")
        try orgs.hub.unshare(object: "Product")
        let second = try orgs.hub.export(to: orgs.drop)
        #expect(second.map(\.bundle.header.sequence) == [2])
        #expect(second.map(\.bundle.header.kind) == [.delta])
        // The spoke's receipt for bundle 1 let the hub remove it.
        #expect(try orgs.bundlePaths().count == 1)
        let outcome = try orgs.spoke.sync(from: orgs.drop)
        #expect(outcome.applied == 1 && outcome.skipped == 0)
        let spokeDatabase = try Database(path: orgs.directory.file("spoke.db"), mode: .readOnly)
        #expect(try spokeDatabase.rows("SELECT Name FROM Account__xo WHERE Id = 1") == [[.string("Globex Renamed")]])
        #expect(try spokeDatabase.rows("SELECT count(*) FROM Contact__xo WHERE ContactId = 101") == [[.integer(0)]])
        #expect(!(try spokeDatabase.tableExists("Product__xo")))
        #expect(try orgs.spoke.status().hubs.first?.appliedSequence == 2)
    }

    @Test func aSpokeTableOfTheSameNameIsNeverOverwritten() throws {
        let orgs = try exported()
        let spokeDatabase = try Database(path: orgs.directory.file("spoke.db"))
        try spokeDatabase.execute("CREATE TABLE Account__xo (Mine TEXT); INSERT INTO Account__xo VALUES ('keep me')")
        let before = try orgs.spokeFingerprint()
        let outcome = try orgs.spoke.sync(from: orgs.drop)
        #expect(outcome.failures.map(\.exitCode) == [.configuration])
        #expect(try orgs.spokeFingerprint() == before)
    }

    @Test func aSecondRunOnTheSameHomeIsTurnedAway() throws {
        let orgs = try ConnectedOrgs()
        let lock = try HomeLock(home: orgs.spoke.home, timeout: 0)
        do {
            _ = try Org(home: orgs.spoke.home, environment: Environment(lockTimeout: 0.2), locking: true)
            Issue.record("a second run got the lock")
        } catch let error as XOShareError {
            #expect(error.exitCode == .temporaryFailure)
            #expect(error.message.contains("pid \(getpid())"))
        }
        withExtendedLifetime(lock) {}
    }

    @Test func sharingRefusesWhatItCannotShare() throws {
        let orgs = try ConnectedOrgs()
        for (object, fields) in [
            ("Nope", [String]()), ("Account", ["Bogus"]), ("PriceListEntry", []), ("sqlite_schema", []),
        ] {
            #expect(throws: XOShareError.self) { try orgs.hub.share(object: object, fields: fields) }
        }
        let share = try orgs.hub.share(object: "account", fields: ["name"])
        #expect(share.object == "Account")
        #expect(share.fields == ["Id", "Name"])
        #expect(throws: XOShareError.self) { try orgs.hub.unshare(object: "Opportunity") }
    }
}

/// The same org, opened with a clock `days` days ahead.
func later(_ org: Org, days: Int64) throws -> Org {
    let now = Int64(Date().timeIntervalSince1970) + days * 86_400
    return try Org(home: org.home, environment: Environment(now: { now }, lockTimeout: 0), locking: false)
}

extension Array where Element == UInt8 {
    func contains(subsequence: [UInt8]) -> Bool {
        guard !subsequence.isEmpty, subsequence.count <= count else { return false }
        return (0...(count - subsequence.count)).contains { start in
            self[start..<start + subsequence.count].elementsEqual(subsequence)
        }
    }
}

@Suite struct ExpiryTests {
    @Test func anExpiredBundleIsRefused() throws {
        let orgs = try ConnectedOrgs()
        _ = try orgs.hub.export(to: orgs.drop)
        let before = try orgs.spokeFingerprint()
        let outcome = try later(orgs.spoke, days: Int64(Org.defaultBundleLifetimeDays) + 1).sync(from: orgs.drop)
        #expect(outcome.failures.map(\.exitCode) == [.dataError])
        #expect(outcome.failures.first?.message.contains("expired") == true)
        #expect(try orgs.spokeFingerprint() == before)
        #expect(try orgs.spoke.sync(from: orgs.drop).applied == 1)
    }

    @Test func anExpiredInvitationIsRefusedAtAccept() throws {
        let orgs = try ConnectedOrgs()
        let code = try orgs.hub.invite(spokeName: "late", lifetimeDays: 1)
        do {
            _ = try later(orgs.spoke, days: 2).accept(code: code, drop: orgs.drop, localName: "late") { _ in true }
            Issue.record("an expired invitation was accepted")
        } catch let error as XOShareError {
            #expect(error.exitCode == .dataError)
            #expect(error.message.contains("expired"))
        }
        #expect(try orgs.spoke.status().hubs.count == 1)
    }
}

@Suite struct LifecycleLibraryTests {
    @Test func aRevokedConnectionRefusesAnyLaterBundle() throws {
        let orgs = try ConnectedOrgs()
        _ = try orgs.hub.export(to: orgs.drop)
        #expect(try orgs.spoke.sync(from: orgs.drop).applied == 1)
        _ = try orgs.hub.revoke(spokeName: "globex", purge: false, drop: orgs.drop)
        #expect(try orgs.spoke.sync(from: orgs.drop).applied == 1)
        #expect(try orgs.spoke.status().hubs.first?.state == "Revoked")

        // Even a genuine bundle signed by the hub after the notice is refused.
        let connection = try #require(try orgs.hub.state.spokeConnection(named: "globex"))
        let now = Int64(Date().timeIntervalSince1970)
        let parameters = BundleParameters(
            kind: .snapshot, connectionID: connection.id, secret: connection.secret,
            sequence: connection.lastSequence + 1, previousBundleHash: connection.lastBundleHash ?? [],
            createdAt: now, expiresAt: now + 3600)
        let manifest = Manifest(
            format: 1, hubOrg: "Acme Corp", connection: connection.id.description, sequence: parameters.sequence,
            createdAt: now, kind: "snapshot", objects: [], segmentLimit: 1 << 20)
        let late = try BundleWriter.write(
            into: orgs.drop, parameters: parameters, signingKey: try orgs.hub.signingKey.get(), manifest: manifest,
            streams: [])
        try late.publish()
        let before = try orgs.spokeFingerprint()
        let outcome = try orgs.spoke.sync(from: orgs.drop)
        #expect(outcome.failures.map(\.exitCode) == [.dataError])
        #expect(outcome.failures.first?.message.contains("revoked") == true)
        #expect(try orgs.spokeFingerprint() == before)
    }

    @Test func bundlesRemovedWhileASyncReadsTheDropAreNotErrorsOfTheBundle() throws {
        let orgs = try ConnectedOrgs()
        _ = try orgs.hub.export(to: orgs.drop)
        #expect(try orgs.spoke.sync(from: orgs.drop).applied == 1)
        let first = try #require(try orgs.bundlePaths().first)
        let firstBytes = try Data(contentsOf: URL(fileURLWithPath: first))
        try Database(path: orgs.directory.file("hub.db")).execute("UPDATE Account SET Employees = 7 WHERE Id = 1")
        _ = try orgs.hub.export(to: orgs.drop)
        try firstBytes.write(to: URL(fileURLWithPath: first))  // As if the hub had not cleaned it up yet.
        let listed = try orgs.bundlePaths()
        #expect(listed.count == 2)

        // Between listing the drop and opening the files, the hub cleans up bundle 1 (acknowledged)
        // and someone takes bundle 2 away: the first is skipped, the second is "run again".
        let removing = Environment(lockTimeout: 0) { point in
            if point == "sync.listed" { for path in listed { unlink(path) } }
        }
        let racing = try Org(home: orgs.spoke.home, environment: removing, locking: false)
        let before = try orgs.spokeFingerprint()
        let outcome = try racing.sync(from: orgs.drop)
        #expect(outcome.applied == 0 && outcome.skipped == 1)
        #expect(outcome.failures.map(\.exitCode) == [.temporaryFailure])
        #expect(outcome.failures.first?.message.contains("Run again") == true)
        #expect(try orgs.spokeFingerprint() == before)
    }

    @Test func theBundleLifetimeIsAnOption() throws {
        let orgs = try ConnectedOrgs()
        _ = try orgs.hub.export(to: orgs.drop, options: ExportOptions(bundleLifetimeDays: 1))
        let outcome = try later(orgs.spoke, days: 2).sync(from: orgs.drop)
        #expect(outcome.failures.first?.message.contains("expired") == true)
        #expect(try orgs.spoke.sync(from: orgs.drop).applied == 1)
    }

    @Test func anAcceptanceMadeAfterTheInvitationExpiredIsRefusedAtExport() throws {
        let orgs = try ConnectedOrgs()
        let code = try orgs.hub.invite(spokeName: "late", lifetimeDays: 1)
        try loadFixture("spoke.sql", into: orgs.directory.file("late.db"))
        let lateOrg = try Org.initialise(
            home: Home(path: orgs.directory.file("latehome")), orgName: "Late",
            databasePath: orgs.directory.file("late.db"),
            environment: Environment(lockTimeout: 0))
        // The spoke's clock says the code was still valid (it refuses expired codes itself);
        // a forged time needs the secret, so the hub trusts the authenticated time.
        let acceptance = try Acceptance(
            connection: code.connectionID, spokeOrg: "Late", spokePublicKey: try lateOrg.publicKey,
            acceptedAt: code.expiresAt + 60, secret: code.secret)
        try Data(try acceptance.encoded()).write(
            to: URL(fileURLWithPath: orgs.drop.pathOf(orgs.drop.acceptanceName(code.connectionID))))
        do {
            _ = try orgs.hub.export(to: orgs.drop)
            Issue.record("a late acceptance was taken")
        } catch let error as XOShareError {
            #expect(error.exitCode == .dataError)
        }
        #expect(try orgs.hub.state.spokeConnection(named: "late")?.state == .pending)
    }

    @Test func statusShowsWhatEachSideAcknowledgedAndApplied() throws {
        let orgs = try ConnectedOrgs()
        _ = try orgs.hub.export(to: orgs.drop)
        _ = try orgs.spoke.sync(from: orgs.drop)
        _ = try orgs.hub.export(to: orgs.drop)
        let hubSide = try #require(try orgs.hub.status().spokes.first)
        #expect(hubSide.state == "Connected")
        #expect(hubSide.lastSequence == 1 && hubSide.acknowledgedSequence == 1)
        let spokeSide = try #require(try orgs.spoke.status().hubs.first)
        #expect(spokeSide.appliedSequence == 1)
        #expect(spokeSide.appliedAt != nil && spokeSide.createdAtHub != nil)
        #expect(spokeSide.objects.map(\.table) == ["Account__xo", "Contact__xo", "Product__xo"])
    }

    @Test func secretsNeverShowInStatus() throws {
        let orgs = try ConnectedOrgs()
        let encoder = JSONEncoder()
        for report in [try orgs.hub.status(), try orgs.spoke.status()] {
            let text = String(decoding: try encoder.encode(report), as: UTF8.self)
            #expect(!text.contains(base64Encode(orgs.code.secret)))
            #expect(!text.contains(orgs.code.secret.hexString))
            #expect(!text.contains(orgs.code.text))
        }
    }
}

@Suite struct DamagedStateTests {
    @Test func aDamagedStateFileGetsAMessageNotACrash() throws {
        let orgs = try ConnectedOrgs()
        try orgs.hub.state.database.execute("UPDATE spoke_connection SET id = 'not-an-id'")
        do {
            _ = try orgs.hub.status()
            Issue.record("a damaged state was read without complaint")
        } catch let error as XOShareError {
            #expect(error.exitCode == .configuration)
            #expect(error.message.contains("state.db"))
        }
    }
}
