import Foundation
import Testing
import XOShareCore
import XOShareTestSupport

/// Full disks, write-protected folders and runs at the same time.
@Suite struct FaultTests {
    /// Runs a system command, for the mounts these tests need (they run as root, as CI does).
    @discardableResult
    func system(_ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// The hub's state as `status --json` shows it, to prove nothing advanced.
    func hubSpoke(_ orgs: TwoOrgs) throws -> [String: Any] {
        (try orgs.status("hub")["spokes"] as? [[String: Any]])?.first ?? [:]
    }

    @Test func aFullDiskDuringExportLeavesNoBundleAndAdvancesNothing() throws {
        let orgs = try TwoOrgs()
        let small = try orgs.directory.folder("small")
        #expect(
            try system(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", small]) == 0, "cannot mount a small disk")
        defer { _ = try? system(["umount", small]) }
        try FileManager.default.createSymbolicLink(atPath: orgs.directory.file("full"), withDestinationPath: small)
        try orgs.connect()
        try orgs.changeHub("UPDATE Account SET Employees = 3 WHERE Id < 4")
        // Fill the disk to the last byte.
        #expect(FileManager.default.createFile(atPath: small + "/filler", contents: nil))
        let filler = try #require(FileHandle(forWritingAtPath: small + "/filler"))
        while (try? filler.write(contentsOf: Data(count: 1024))) != nil {}
        try? filler.close()

        let before = try hubSpoke(orgs)
        let full = try orgs.run(["--home", "hub", "hub", "export", "--drop", "full"])
        #expect(full.status == 74, "\(full.errors)")
        #expect(full.errors.contains("free some space"))
        let left = try FileManager.default.contentsOfDirectory(atPath: small).filter { $0.contains("xo-bundle") }
        #expect(left.isEmpty, "left behind: \(left)")
        let after = try hubSpoke(orgs)
        #expect(after["lastSequence"] as? Int == before["lastSequence"] as? Int)

        try FileManager.default.removeItem(atPath: small + "/filler")
        try orgs.expectSuccess(["--home", "hub", "hub", "export", "--drop", "full"])
        try orgs.expectSuccess(["--home", "spoke", "spoke", "sync", "--drop", "full"])
        try orgs.expectSpokeMatchesHub()
    }

    /// The export also writes in the home (its state, and the spool of compressed records):
    /// a full disk there is the same clear error, and nothing is left half done.
    @Test func aFullDiskUnderTheHubsHomeLeavesNoBundleAndAdvancesNothing() throws {
        let orgs = try TwoOrgs()
        try orgs.connect()
        try orgs.changeHub("UPDATE Account SET Name = Name || ' (renamed)'")
        let small = try orgs.directory.folder("smallhome")
        #expect(
            try system(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", small]) == 0, "cannot mount a small disk")
        defer { _ = try? system(["umount", small]) }
        try FileManager.default.copyItem(atPath: orgs.directory.file("hub"), toPath: small + "/hub")
        #expect(FileManager.default.createFile(atPath: small + "/filler", contents: nil))
        let filler = try #require(FileHandle(forWritingAtPath: small + "/filler"))
        while (try? filler.write(contentsOf: Data(count: 1024))) != nil {}
        try? filler.close()

        let home = small + "/hub"
        let before = try orgs.status(home)
        let bundles = try orgs.bundleNames()
        let full = try orgs.run(["--home", home, "hub", "export", "--drop", "drop"])
        #expect(full.status == 74, "\(full.errors)")
        #expect(full.errors.contains("free some space"), "\(full.errors)")
        #expect(try orgs.bundleNames() == bundles)
        let after = try orgs.status(home)
        #expect(
            ((after["spokes"] as? [[String: Any]])?.first?["lastSequence"] as? Int)
                == ((before["spokes"] as? [[String: Any]])?.first?["lastSequence"] as? Int))
        #expect(try FileManager.default.contentsOfDirectory(atPath: home).allSatisfy { !$0.hasPrefix(".xo-spool") })

        try FileManager.default.removeItem(atPath: small + "/filler")
        try orgs.expectSuccess(["--home", home, "hub", "export", "--drop", "drop"])
        try orgs.expectSuccess(["--home", "spoke", "spoke", "sync", "--drop", "drop"])
        try orgs.expectSpokeMatchesHub()
    }

    /// A record stream whose spool cannot be written (compressed on the worker thread)
    /// reports the disk's error when it is finished, with the exit code for a full disk.
    @Test func aSpoolOnAFullDiskFailsItsStreamWithTheDisksError() throws {
        let directory = try TemporaryDirectory()
        let small = try directory.folder("small")
        #expect(
            try system(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", small]) == 0, "cannot mount a small disk")
        defer { _ = try? system(["umount", small]) }
        #expect(FileManager.default.createFile(atPath: small + "/filler", contents: nil))
        let filler = try #require(FileHandle(forWritingAtPath: small + "/filler"))
        while (try? filler.write(contentsOf: Data(count: 1024))) != nil {}
        try? filler.close()

        for worker in [FrameWorker(), nil] {
            let stream = try RecordStream(
                object: 0, objectName: "Account", spoolDirectory: small, modificationTime: 0, segmentTarget: 512,
                worker: worker)
            var failure: (any Error)?
            do {
                for id in 0..<2000 {
                    stream.segment.append(RecordCodec.Operation.upsert.rawValue)
                    RecordCodec.append(.integer(Int64(id)), to: &stream.segment)
                    RecordCodec.append(.blob((0..<64).map { _ in UInt8.random(in: 0...255) }), to: &stream.segment)
                    try stream.endRecord()
                }
                try stream.finish()
            } catch {
                failure = error
            }
            let error = try #require(failure, "a full disk went unnoticed")
            #expect(error.exitCode == .ioError, "\(error)")
            #expect("\(error)".contains("free some space"), "\(error)")
        }
    }

    @Test func aWriteProtectedDropAtTheHubIsAClearPermissionError() throws {
        let orgs = try TwoOrgs()
        try orgs.connect()
        try orgs.changeHub("UPDATE Account SET Employees = 7 WHERE Id = 1")
        let before = try hubSpoke(orgs)
        try makeReadOnly(orgs.dropPath)
        defer { makeWritable(orgs.dropPath) }
        let refused = try orgs.export()
        #expect(refused.status == 77, "\(refused.errors)")
        #expect(refused.errors.contains("permissions"))
        #expect(try hubSpoke(orgs)["lastSequence"] as? Int == before["lastSequence"] as? Int)
        makeWritable(orgs.dropPath)
        #expect(try orgs.export().status == 0)
        #expect(try orgs.sync().status == 0)
        try orgs.expectSpokeMatchesHub()
    }

    @Test func aBundleStillBeingCopiedUnderAnotherToolsTemporaryNameWaits() throws {
        let orgs = try TwoOrgs()
        let code = try orgs.invite()
        try orgs.expectSuccess(["--home", "spoke", "spoke", "accept", code, "--drop", "drop", "--yes"])
        try orgs.expectSuccess(["--home", "hub", "hub", "export", "--drop", "drop"])
        let name = try #require(try orgs.bundleNames().first)
        // As rsync does: ".NAME.XXXXXX" until the copy is complete.
        try FileManager.default.moveItem(
            atPath: orgs.dropPath + "/" + name, toPath: orgs.dropPath + "/." + name + ".a1B2c3")
        let waiting = try orgs.sync()
        #expect(waiting.status == 75)
        #expect(waiting.errors.contains("still being"))
        try FileManager.default.moveItem(
            atPath: orgs.dropPath + "/." + name + ".a1B2c3", toPath: orgs.dropPath + "/" + name)
        #expect(try orgs.sync().status == 0)
    }

    @Test func runsAtTheSameTimeOnOneDropDirectoryAllWork() throws {
        let orgs = try TwoOrgs()
        try loadFixture("spoke.sql", into: orgs.directory.file("initech.db"))
        try orgs.expectSuccess(["--home", "initech", "init", "--org", "Initech", "--db", "initech.db"])
        let codes = [try orgs.invite("globex"), try orgs.invite("initech")]
        try orgs.expectSuccess(["--home", "spoke", "spoke", "accept", codes[0], "--drop", "drop", "--yes"])
        try orgs.expectSuccess(["--home", "initech", "spoke", "accept", codes[1], "--drop", "drop", "--yes"])
        #expect(try orgs.export().status == 0)

        for round in 0..<4 {
            try orgs.changeHub("UPDATE Account SET Employees = \(round) WHERE Id = 1")
            // Two spokes sync while the hub exports, all at once.
            let results = try concurrently(
                [
                    ["--home", "hub", "hub", "export", "--drop", "drop"],
                    ["--home", "spoke", "spoke", "sync", "--drop", "drop"],
                    ["--home", "initech", "spoke", "sync", "--drop", "drop"],
                ], in: orgs.path)
            #expect(results[0].status == 0, "\(results[0].errors)")
            // A spoke that saw the hub's bundle half-written says "try again later" and applied the rest.
            #expect([0, 75].contains(results[1].status), "\(results[1].errors)")
            #expect([0, 75].contains(results[2].status), "\(results[2].errors)")
        }
        #expect(try orgs.sync("spoke").status == 0)
        #expect(try orgs.sync("initech").status == 0)
        try orgs.expectSpokeMatchesHub()
        try orgs.expectSpokeMatchesHub(spoke: orgs.directory.file("initech.db"))
    }

    @Test func twoRunsOnOneHomeNeverOverlap() throws {
        let orgs = try TwoOrgs()
        try orgs.connect()
        try orgs.changeHub("UPDATE Account SET Employees = 11 WHERE Id = 1")
        let results = try concurrently(
            Array(repeating: ["--home", "hub", "hub", "export", "--drop", "drop"], count: 3), in: orgs.path)
        // Each waits its turn: one writes the delta, the others find nothing new.
        #expect(results.allSatisfy { $0.status == 0 }, "\(results.map(\.errors))")
        #expect(results.filter { $0.output.contains("Wrote") }.count == 1)
        #expect(try orgs.sync().status == 0)
        try orgs.expectSpokeMatchesHub()
    }

    func concurrently(_ runs: [[String]], in directory: String) throws -> [RunResult] {
        let results = Results(count: runs.count)
        DispatchQueue.concurrentPerform(iterations: runs.count) { index in
            results.set(index, Result { try runXOShare(runs[index], in: directory) })
        }
        return try results.all.map { try $0!.get() }
    }
}

/// Results filled in by concurrent runs.
final class Results: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Result<RunResult, any Error>?]
    init(count: Int) { values = Array(repeating: nil, count: count) }
    func set(_ index: Int, _ value: Result<RunResult, any Error>) { lock.withLock { values[index] = value } }
    var all: [Result<RunResult, any Error>?] { lock.withLock { values } }
}
