/// The options every command accepts.
public struct GlobalOptions: Sendable, Equatable {
    /// `--home DIR`; nil means `$XOSHARE_HOME`, else `./.xoshare`.
    public var home: String?
    public var json = false
    public var quiet = false
}

/// One command line, parsed.
public enum Command: Sendable, Equatable {
    case help(topic: [String])
    case version
    case initialise(org: String, database: String)
    case status
    case hubShare(object: String, fields: [String])
    case hubUnshare(object: String)
    case hubCapture(on: Bool)
    case hubInvite(spoke: String, lifetimeDays: Int)
    case hubUninvite(spoke: String)
    case hubExport(drop: String, full: Bool, spokes: [String], bundleLifetimeDays: Int, rescan: Bool)
    case hubRevoke(spoke: String, purge: Bool, drop: String?)
    case spokeAccept(code: String, drop: String, name: String?, prefix: String, assumeYes: Bool)
    case spokeSync(drop: String)
}

public struct Invocation: Sendable, Equatable {
    public var options: GlobalOptions
    public var command: Command
}

/// Turns the arguments (without the program name) into an invocation.
///
/// Options may come before or after the command words, as `--name value` or
/// `--name=value`; `--` ends the options.
/// - Throws: `XOShareError` (usage) saying what is wrong and where to look.
public func parse(_ arguments: [String]) throws -> Invocation {
    let valued: Set<String> = ["--home", "--org", "--db", "--drop", "--name", "--expires", "--prefix"]
    let flags: Set<String> = [
        "--json", "--quiet", "-q", "--help", "-h", "--version", "--yes", "-y", "--full", "--purge", "--rescan",
    ]
    var options = GlobalOptions()
    var values: [String: String] = [:]
    var seenFlags = Set<String>()
    var words: [String] = []
    var index = 0
    var onlyWords = false
    while index < arguments.count {
        let argument = arguments[index]
        index += 1
        if onlyWords || !argument.hasPrefix("-") || argument == "-" {
            words.append(argument)
            continue
        }
        if argument == "--" {
            onlyWords = true
            continue
        }
        var name = argument
        var inlineValue: String?
        if let equals = argument.firstIndex(of: "="), argument.hasPrefix("--") {
            name = String(argument[..<equals])
            inlineValue = String(argument[argument.index(after: equals)...])
        }
        if valued.contains(name) {
            let value: String
            if let inlineValue {
                value = inlineValue
            } else {
                guard index < arguments.count else { throw XOShareError.usage("The option \(name) needs a value.") }
                value = arguments[index]
                index += 1
            }
            guard !value.isEmpty else { throw XOShareError.usage("The option \(name) needs a non-empty value.") }
            values[name] = value
        } else if flags.contains(name), inlineValue == nil {
            seenFlags.insert(name)
        } else {
            throw XOShareError.usage("Unknown option \(argument); run 'xoshare help' for the options.")
        }
    }
    options.home = values["--home"]
    options.json = seenFlags.contains("--json")
    options.quiet = seenFlags.contains("--quiet") || seenFlags.contains("-q")

    func allow(_ allowed: Set<String>, for command: String) throws {
        let globals: Set<String> = ["--home", "--json", "--quiet", "-q", "--help", "-h", "--version"]
        for option in Set(values.keys).union(seenFlags) where !globals.contains(option) && !allowed.contains(option) {
            throw XOShareError.usage("'xoshare \(command)' takes no \(option) option; see 'xoshare help \(command)'.")
        }
    }
    func required(_ option: String, for command: String) throws -> String {
        guard let value = values[option] else {
            throw XOShareError.usage("'xoshare \(command)' needs \(option); see 'xoshare help \(command)'.")
        }
        return value
    }
    func days(default value: Int, maximum: Int) throws -> Int {
        guard let text = values["--expires"] else { return value }
        guard let parsed = Int(text), parsed > 0, parsed <= maximum else {
            throw XOShareError.usage("--expires takes a number of days from 1 to \(maximum), not '\(text)'.")
        }
        return parsed
    }
    func arity(_ count: ClosedRange<Int>, _ command: String, _ rest: ArraySlice<String>, what: String) throws {
        guard count.contains(rest.count) else {
            throw XOShareError.usage("Usage: xoshare \(command) \(what); see 'xoshare help \(command)'.")
        }
    }

    if seenFlags.contains("--help") || seenFlags.contains("-h") {
        return Invocation(options: options, command: .help(topic: words.filter { $0 != "help" }))
    }
    if seenFlags.contains("--version") && words.isEmpty { return Invocation(options: options, command: .version) }
    guard let first = words.first else { return Invocation(options: options, command: .help(topic: [])) }

    let command: Command
    switch first {
    case "help":
        command = .help(topic: Array(words.dropFirst()))
    case "version":
        command = .version
    case "init":
        try allow(["--org", "--db"], for: "init")
        try arity(0...0, "init", words.dropFirst(), what: "--org NAME --db PATH")
        command = .initialise(org: try required("--org", for: "init"), database: try required("--db", for: "init"))
    case "status":
        try allow([], for: "status")
        try arity(0...0, "status", words.dropFirst(), what: "")
        command = .status
    case "hub", "spoke":
        guard words.count >= 2 else {
            throw XOShareError.usage("'xoshare \(first)' needs a subcommand; see 'xoshare help \(first)'.")
        }
        let name = "\(first) \(words[1])"
        let rest = words.dropFirst(2)
        switch (first, words[1]) {
        case ("hub", "share"):
            try allow([], for: name)
            try arity(1...Int.max, name, rest, what: "OBJECT [FIELD ...]")
            command = .hubShare(object: rest.first!, fields: Array(rest.dropFirst()))
        case ("hub", "unshare"):
            try allow([], for: name)
            try arity(1...1, name, rest, what: "OBJECT")
            command = .hubUnshare(object: rest.first!)
        case ("hub", "capture"):
            try allow([], for: name)
            try arity(1...1, name, rest, what: "on|off")
            guard let setting = rest.first, ["on", "off"].contains(setting) else {
                throw XOShareError.usage("Usage: xoshare \(name) on|off; see 'xoshare help \(name)'.")
            }
            command = .hubCapture(on: setting == "on")
        case ("hub", "invite"):
            try allow(["--expires"], for: name)
            try arity(1...1, name, rest, what: "SPOKE [--expires DAYS]")
            command = .hubInvite(
                spoke: rest.first!, lifetimeDays: try days(default: Org.defaultInvitationLifetimeDays, maximum: 365))
        case ("hub", "uninvite"):
            try allow([], for: name)
            try arity(1...1, name, rest, what: "SPOKE")
            command = .hubUninvite(spoke: rest.first!)
        case ("hub", "export"):
            try allow(["--drop", "--full", "--expires", "--rescan"], for: name)
            let full = seenFlags.contains("--full")
            try arity(
                0...(full ? Int.max : 0), name, rest,
                what: "--drop DIR [--full [SPOKE ...]] [--expires DAYS] [--rescan]")
            command = .hubExport(
                drop: try required("--drop", for: name), full: full, spokes: Array(rest),
                bundleLifetimeDays: try days(default: Org.defaultBundleLifetimeDays, maximum: 3650),
                rescan: seenFlags.contains("--rescan"))
        case ("hub", "revoke"):
            try allow(["--purge", "--drop"], for: name)
            try arity(1...1, name, rest, what: "SPOKE [--purge] [--drop DIR]")
            command = .hubRevoke(spoke: rest.first!, purge: seenFlags.contains("--purge"), drop: values["--drop"])
        case ("spoke", "accept"):
            try allow(["--drop", "--name", "--prefix", "--yes", "-y"], for: name)
            try arity(1...1, name, rest, what: "CODE --drop DIR [--name NAME] [--prefix PREFIX] [--yes]")
            command = .spokeAccept(
                code: rest.first!, drop: try required("--drop", for: name), name: values["--name"],
                prefix: values["--prefix"] ?? "", assumeYes: seenFlags.contains("--yes") || seenFlags.contains("-y"))
        case ("spoke", "sync"):
            try allow(["--drop"], for: name)
            try arity(0...0, name, rest, what: "--drop DIR")
            command = .spokeSync(drop: try required("--drop", for: name))
        default:
            throw XOShareError.usage("Unknown command 'xoshare \(name)'; see 'xoshare help \(first)'.")
        }
    default:
        throw XOShareError.usage("Unknown command '\(first)'; run 'xoshare help' for the commands.")
    }
    return Invocation(options: options, command: command)
}
