import Foundation
import Testing
import XOShareCore
import XOShareTestSupport

/// Runs every case kept in fixtures/fuzz/ (seeds, and inputs that once crashed a
/// fuzzer) through the fuzzed entry points: none may crash, seeds must be accepted.
@Suite struct FuzzRegressionTests {
    static let targets: [(name: String, run: @Sendable ([UInt8]) -> Bool)] = [
        ("invitation-code", FuzzTargets.invitationCode), ("bundle-archive", FuzzTargets.bundleArchive),
        ("bundle-header", FuzzTargets.bundleHeader),
    ]

    @Test(arguments: targets.map(\.name))
    func everyKeptCaseRunsAndSeedsAreAccepted(target: String) throws {
        let run = try #require(Self.targets.first { $0.name == target }?.run)
        let folder = fixturesPath + "/fuzz/" + target
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        #expect(names.contains { $0.hasPrefix("seed-") })
        for name in names {
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: folder + "/" + name)))
            let accepted = run(bytes)
            if name.hasPrefix("seed-") { #expect(accepted, "\(target)/\(name) is a valid seed") }
            if name.hasPrefix("refused-") { #expect(!accepted, "\(target)/\(name) must be refused") }
        }
    }

    @Test func mutatedSeedsNeverCrashTheReaders() throws {
        // A small seeded mutation loop, so the suite itself exercises the readers a little.
        var random = UInt64(42)
        func next() -> Int {
            random = random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: random >> 33)
        }
        var refused = 0
        for (target, run) in Self.targets {
            let folder = fixturesPath + "/fuzz/" + target
            for name in try FileManager.default.contentsOfDirectory(atPath: folder) where name.hasPrefix("seed-") {
                let seed = Array(try Data(contentsOf: URL(fileURLWithPath: folder + "/" + name)))
                for _ in 0..<200 {
                    var bytes = seed
                    for _ in 0..<(1 + next() % 4) where !bytes.isEmpty {
                        switch next() % 3 {
                        case 0: bytes[next() % bytes.count] = UInt8(truncatingIfNeeded: next())
                        case 1: bytes.removeSubrange((next() % bytes.count)...)
                        default: bytes.insert(UInt8(truncatingIfNeeded: next()), at: next() % bytes.count)
                        }
                    }
                    if !run(bytes) { refused += 1 }
                }
            }
        }
        #expect(refused > 0)
    }
}
