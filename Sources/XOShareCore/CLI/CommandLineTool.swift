import Foundation

/// Where the CLI writes and reads; tests pass their own.
public struct Console: Sendable {
    public var standardOutput: @Sendable (String) -> Void
    public var standardError: @Sendable (String) -> Void
    /// Reads one line of the person's answer; nil at end of input.
    public var readLine: @Sendable () -> String?

    public init(
        standardOutput: @escaping @Sendable (String) -> Void, standardError: @escaping @Sendable (String) -> Void,
        readLine: @escaping @Sendable () -> String?
    ) {
        self.standardOutput = standardOutput
        self.standardError = standardError
        self.readLine = readLine
    }

    public static let system = Console(
        standardOutput: { text in FileHandle.standardOutput.write(Data(text.utf8)) },
        standardError: { text in FileHandle.standardError.write(Data(text.utf8)) },
        readLine: { Swift.readLine(strippingNewline: true) })
}

/// Collects what a command reports, for its text or JSON output.
final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [Event] = []

    func append(_ event: Event) { lock.withLock { events.append(event) } }
    var all: [Event] { lock.withLock { events } }
}

/// The command-line front end: parses, runs the library, prints, and returns the exit code.
public enum CommandLineTool {
    public static func run(
        arguments: [String], environment: [String: String] = ProcessInfo.processInfo.environment,
        console: Console = .system
    ) -> Int32 {
        var json = arguments.contains("--json")
        do {
            let invocation = try parse(arguments)
            json = invocation.options.json
            return try execute(invocation, environment: environment, console: console)
        } catch {
            let status = error.exitCode
            let message = String(describing: error)
            console.standardError("xoshare: \(message)\n")
            if json && !((error as? QuietError)?.alreadyShown ?? false) {
                console.standardOutput(
                    Output.json(ErrorOutput(error: message, exitCode: status.rawValue)))
            }
            return status.rawValue
        }
    }

    struct ErrorOutput: Encodable {
        var error: String
        var exitCode: Int32
    }

    static func execute(_ invocation: Invocation, environment variables: [String: String], console: Console) throws
        -> Int32
    {
        let options = invocation.options
        let homePath = options.home ?? variables["XOSHARE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? ".xoshare"
        let home = Home(path: homePath)
        let log = EventLog()
        let output = Output(options: options, console: console)
        // For tests only: XOSHARE_TEST_NOW (seconds since 1970) stands in for the clock.
        let fixedNow = variables["XOSHARE_TEST_NOW"].flatMap { Int64($0) }
        let environment = Environment(
            report: { event in
                log.append(event)
                output.show(event)
            },
            now: { fixedNow ?? Int64(Date().timeIntervalSince1970) },
            lockTimeout: Double(variables["XOSHARE_LOCK_TIMEOUT"] ?? "") ?? 10,
            checkpoint: variables["XOSHARE_TEST_KILL_AT"].map(killSwitch))

        switch invocation.command {
        case .help(let topic):
            console.standardOutput(try HelpText.text(for: topic) + "\n")
        case .version:
            if options.json {
                console.standardOutput(Output.json(["version": HelpText.version]))
            } else {
                console.standardOutput("xoshare \(HelpText.version)\n")
            }
        case .initialise(let orgName, let database):
            let org = try Org.initialise(home: home, orgName: orgName, databasePath: database, environment: environment)
            let report = try org.status()
            output.result(
                json: InitOutput(
                    org: report.org, fingerprint: report.fingerprint, home: report.home, database: report.database),
                text:
                    "Set up org \(report.org) in \(report.home)\nKey fingerprint: \(report.fingerprint)\nDatabase: \(report.database)\n"
            )
        case .status:
            let org = try Org(home: home, environment: environment, locking: false)
            let report = try org.status()
            output.result(json: report, text: Output.text(of: report))
        case .hubShare(let object, let fields):
            let org = try Org(home: home, environment: environment, locking: true)
            let share = try org.share(object: object, fields: fields)
            output.result(
                json: StatusReport.SharedObject(
                    object: share.object, primaryKey: share.primaryKey, fields: share.fields),
                text: "Sharing \(share.object) (key \(share.primaryKey)): \(share.fields.joined(separator: ", "))\n")
        case .hubUnshare(let object):
            let org = try Org(home: home, environment: environment, locking: true)
            try org.unshare(object: object)
            output.result(json: ["unshared": object], text: "No longer sharing \(object).\n")
        case .hubCapture(let on):
            let org = try Org(home: home, environment: environment, locking: true)
            if on {
                let report = try org.enableChangeCapture()
                var text = "Change capture is on: the org database logs the changes of "
                text += report.objects.isEmpty ? "no shared object yet" : report.objects.joined(separator: ", ")
                text += ".\n"
                for (object, reason) in report.ineligible.sorted(by: { $0.key < $1.key }) {
                    text += "\(object) is compared in full on every export: \(reason).\n"
                }
                output.result(
                    json: CaptureOutput(capture: "on", objects: report.objects, comparedInFull: report.ineligible),
                    text: text)
            } else {
                try org.disableChangeCapture()
                output.result(
                    json: CaptureOutput(capture: "off", objects: [], comparedInFull: [:]),
                    text: "Change capture is off: its triggers and log are gone from the org database.\n")
            }
        case .hubInvite(let spoke, let days):
            let org = try Org(home: home, environment: environment, locking: true)
            let code = try org.invite(spokeName: spoke, lifetimeDays: days)
            if options.json {
                console.standardOutput(
                    Output.json(
                        InviteOutput(
                            spoke: spoke, connection: code.connectionID.description,
                            state: ConnectionState.pending.rawValue,
                            code: code.text, expiresAt: formatTime(code.expiresAt))))
            } else {
                // The code alone on standard output, even with --quiet, so CODE=$(xoshare hub invite x) works.
                console.standardOutput(code.text + "\n")
            }
        case .hubUninvite(let spoke):
            let org = try Org(home: home, environment: environment, locking: true)
            try org.uninvite(spokeName: spoke)
            output.result(
                json: ["spoke": spoke, "state": ConnectionState.cancelled.rawValue],
                text: "Cancelled the invitation of \(spoke); its code is now refused.\n")
        case .hubExport(let dropPath, let full, let spokes, let days, let rescan):
            let org = try Org(home: home, environment: environment, locking: true)
            let drop = try DropDirectory(path: dropPath)
            var exported: [ExportedBundle] = []
            var failure: (any Error)?
            do {
                exported = try org.export(
                    to: drop,
                    options: ExportOptions(full: full, fullSpokes: spokes, bundleLifetimeDays: days, rescan: rescan))
            } catch { failure = error }
            if exported.isEmpty && failure == nil && !options.json && !options.quiet
                && !log.all.contains(where: { if case .nothingToExport = $0 { true } else { false } })
            {
                console.standardOutput("No Connected spoke: no bundle written.\n")
            }
            if options.json { console.standardOutput(Output.json(Output.exportSummary(log.all, error: failure))) }
            if let failure { throw QuietError(underlying: failure, alreadyShown: options.json) }
        case .hubRevoke(let spoke, let purge, let dropPath):
            let org = try Org(home: home, environment: environment, locking: true)
            let drop = try dropPath.map { try DropDirectory(path: $0) }
            let connection = try org.revoke(spokeName: spoke, purge: purge, drop: drop)
            let when = connection.noticeSequence != nil ? "was written" : "will be written by the next 'hub export'"
            output.result(
                json: ["spoke": spoke, "state": connection.state.rawValue],
                text:
                    "Revoked \(spoke). The notice telling the spoke \(when)\(purge ? ", asking it to delete its copies" : "").\n"
            )
        case .spokeAccept(let text, let dropPath, let name, let prefix, let assumeYes):
            let code = try InvitationCode(parsing: text)
            let org = try Org(home: home, environment: environment, locking: true)
            let drop = try DropDirectory(path: dropPath)
            let hub = try org.accept(code: code, drop: drop, localName: name, tablePrefix: prefix) { code in
                if assumeYes { return true }
                console.standardError(
                    """
                    Hub org:          \(code.hubOrgName)
                    Key fingerprint:  \(code.hubFingerprint)
                    Connection:       \(code.connectionID)
                    Check these with the hub by a channel you trust.
                    Accept this hub? [y/N] 
                    """)
                guard let answer = console.readLine() else {
                    throw XOShareError.usage(
                        "No answer to the confirmation (standard input is closed); run again with --yes to accept without asking."
                    )
                }
                return ["y", "yes"].contains(answer.trimmingCharacters(in: .whitespaces).lowercased())
            }
            output.result(
                json: AcceptOutput(
                    hub: hub.name, hubOrg: hub.hubOrg, hubFingerprint: keyFingerprint(hub.hubPublicKey),
                    connection: hub.id.description, state: ConnectionState.contactingHub.rawValue),
                text:
                    "Accepted hub \(hub.hubOrg) as \(hub.name) (\(keyFingerprint(hub.hubPublicKey))); state: \(ConnectionState.contactingHub.rawValue).\nThe acceptance is in \(drop.path); the hub picks it up on its next export.\n"
            )
        case .spokeSync(let dropPath):
            let org = try Org(home: home, environment: environment, locking: true)
            let drop = try DropDirectory(path: dropPath)
            let outcome = try org.sync(from: drop)
            var failure: XOShareError?
            if let worst = outcome.failures.max(by: { rank($0.exitCode) < rank($1.exitCode) }) {
                let message =
                    outcome.failures.count == 1
                    ? worst.message
                    : "\(outcome.failures.count) bundles or hubs could not be synced; the worst: \(worst.message)"
                failure = XOShareError(worst.exitCode, message)
            }
            if options.json { console.standardOutput(Output.json(Output.syncSummary(log.all, error: failure))) }
            if let failure { throw QuietError(underlying: failure, alreadyShown: options.json) }
        }
        return ExitCode.success.rawValue
    }

    /// For tests only: `XOSHARE_TEST_KILL_AT=POINT` or `POINT:N` kills the process with
    /// SIGKILL the first (or N-th) time the run reaches that checkpoint.
    static func killSwitch(_ specification: String) -> @Sendable (String) -> Void {
        let parts = specification.split(separator: ":")
        let point = String(parts.first ?? "")
        let target = parts.count > 1 ? Int(parts[1]) ?? 1 : 1
        let counter = Counter()
        return { name in
            guard name == point, counter.increment() == target else { return }
            kill(getpid(), SIGKILL)
        }
    }

    /// When a sync fails in several ways, the exit code is the one that most needs a person:
    /// bad data, then a missing bundle, then anything else, and last "try again later".
    private static func rank(_ status: ExitCode) -> Int {
        switch status {
        case .temporaryFailure: 0
        case .noInput: 2
        case .dataError: 3
        default: 1
        }
    }
}

/// A count shared with a `@Sendable` closure.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func increment() -> Int {
        lock.withLock {
            value += 1
            return value
        }
    }
}

/// An error whose JSON form was already printed with the command's output.
struct QuietError: ExitCodeConvertible {
    var underlying: any Error
    var alreadyShown: Bool
    var exitCode: ExitCode { underlying.exitCode }
    var description: String { String(describing: underlying) }
}

struct InitOutput: Encodable {
    var org, fingerprint, home, database: String
}

struct InviteOutput: Encodable {
    var spoke, connection, state, code, expiresAt: String
}

struct AcceptOutput: Encodable {
    var hub, hubOrg, hubFingerprint, connection, state: String
}

struct CaptureOutput: Encodable {
    var capture: String
    var objects: [String]
    var comparedInFull: [String: String]
}
