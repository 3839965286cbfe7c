import Testing
import XOShareCore

@Suite struct CommandParserTests {
    @Test func parsesEveryCommand() throws {
        #expect(
            try parse(["init", "--org", "Acme Corp", "--db", "hub.db"]).command
                == .initialise(org: "Acme Corp", database: "hub.db"))
        #expect(try parse(["status", "--json"]).options.json)
        #expect(try parse(["hub", "share", "Account"]).command == .hubShare(object: "Account", fields: []))
        #expect(
            try parse(["hub", "share", "Account", "Id", "Name"]).command
                == .hubShare(object: "Account", fields: ["Id", "Name"]))
        #expect(try parse(["hub", "unshare", "Account"]).command == .hubUnshare(object: "Account"))
        #expect(try parse(["hub", "invite", "globex"]).command == .hubInvite(spoke: "globex", lifetimeDays: 14))
        #expect(
            try parse(["hub", "invite", "globex", "--expires=3"]).command
                == .hubInvite(spoke: "globex", lifetimeDays: 3))
        #expect(
            try parse(["hub", "export", "--drop", "/mnt/usb"]).command
                == .hubExport(drop: "/mnt/usb", full: false, spokes: [], bundleLifetimeDays: 30, rescan: false))
        #expect(
            try parse(["hub", "export", "--rescan", "--drop=d", "--full", "a"]).command
                == .hubExport(drop: "d", full: true, spokes: ["a"], bundleLifetimeDays: 30, rescan: true))
        #expect(try parse(["hub", "capture", "on"]).command == .hubCapture(on: true))
        #expect(try parse(["hub", "capture", "off"]).command == .hubCapture(on: false))
        #expect(throws: XOShareError.self) { try parse(["hub", "capture", "yes"]) }
        #expect(throws: XOShareError.self) { try parse(["hub", "capture"]) }
        #expect(
            try parse(["spoke", "accept", "XO1-AB", "--drop", "d", "--name", "acme", "--yes"]).command
                == .spokeAccept(code: "XO1-AB", drop: "d", name: "acme", prefix: "", assumeYes: true))
        #expect(try parse(["spoke", "sync", "--drop=d"]).command == .spokeSync(drop: "d"))
        #expect(try parse(["--version"]).command == .version)
        #expect(try parse([]).command == .help(topic: []))
        #expect(try parse(["help", "hub", "export"]).command == .help(topic: ["hub", "export"]))
        #expect(try parse(["hub", "export", "--help"]).command == .help(topic: ["hub", "export"]))
    }

    @Test func globalOptionsGoAnywhere() throws {
        let before = try parse(["--home", "/h", "--quiet", "status"])
        let after = try parse(["status", "--home=/h", "-q"])
        #expect(before == after)
        #expect(before.options.home == "/h")
        #expect(before.options.quiet)
    }

    @Test func mistakesAreUsageErrors() {
        let mistakes: [[String]] = [
            ["frobnicate"], ["hub"], ["hub", "fly"], ["init", "--org", "A"], ["init", "--db"], ["status", "extra"],
            ["hub", "export"], ["hub", "share"], ["hub", "invite", "a", "b"], ["hub", "invite", "a", "--expires", "0"],
            ["spoke", "sync", "--drop", "d", "--yes"], ["status", "--bogus"], ["spoke", "accept", "--drop", "d"],
            ["--json=1", "status"],
        ]
        for arguments in mistakes {
            do {
                _ = try parse(arguments)
                Issue.record("\(arguments) was accepted")
            } catch {
                #expect(error.exitCode == .usage, "\(arguments)")
            }
        }
    }

    @Test func theToolPrintsHelpAndVersionAndSaysWhatIsWrong() {
        let captured = Captured()
        #expect(CommandLineTool.run(arguments: ["--version"], environment: [:], console: captured.console) == 0)
        #expect(captured.output.hasPrefix("xoshare "))
        #expect(
            CommandLineTool.run(arguments: ["help", "spoke", "accept"], environment: [:], console: captured.console)
                == 0)
        #expect(captured.output.contains("--yes"))
        #expect(CommandLineTool.run(arguments: ["nope"], environment: [:], console: captured.console) == 64)
        #expect(captured.errors.contains("Unknown command 'nope'"))
        let home = "/nonexistent-xoshare-home"
        #expect(
            CommandLineTool.run(arguments: ["status", "--home", home], environment: [:], console: captured.console)
                == 78)
        #expect(captured.errors.contains("xoshare init"))
    }
}

/// A console that keeps what is written, for tests.
final class Captured: @unchecked Sendable {
    private(set) var output = ""
    private(set) var errors = ""
    var console: Console {
        Console(
            standardOutput: { self.output += $0 }, standardError: { self.errors += $0 }, readLine: { nil })
    }
}
