import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Something that happened during a command, for the CLI to show.
public enum Event: Sendable {
    // Hub side.
    case connectionAccepted(spoke: String, spokeOrg: String, fingerprint: String)
    /// An acceptance or a receipt in the drop directory that is not genuine.
    case fileRefused(file: String, reason: String)
    case receiptRead(spoke: String, sequence: Int64, bundlesRemoved: Int)
    case bundleWritten(spoke: String, file: String, sequence: Int64, kind: String, records: Int64, bytes: Int64)
    case nothingToExport(spoke: String, sequence: Int64)
    // Spoke side.
    case bundleApplied(hub: String, file: String, sequence: Int64, kind: String, records: Int64)
    case bundleSkipped(hub: String, file: String, reason: String)
    case bundleRefused(hub: String, file: String, reason: String)
    case hubRevoked(hub: String, purged: Bool)
    case receiptWritten(hub: String, sequence: Int64)
    case nothingNew(hub: String)
    case warning(String)
}

/// How a command reports: events as they happen, and the clock it runs by.
public struct Environment: Sendable {
    public var report: @Sendable (Event) -> Void
    public var now: @Sendable () -> Int64
    /// How long to wait for another run holding the home's lock.
    public var lockTimeout: Double
    /// Called at the named points of a run where a crash must lose nothing
    /// (`export.record`, `export.written`, `export.committed`, `export.published`,
    /// `sync.listed`, `sync.record`, `sync.applied`, `sync.committed`, `accept.written`);
    /// tests use it to kill the process or change the drop directory there. Nil in normal runs.
    public var checkpoint: (@Sendable (String) -> Void)?

    public init(
        report: @escaping @Sendable (Event) -> Void = { _ in },
        now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }, lockTimeout: Double = 10,
        checkpoint: (@Sendable (String) -> Void)? = nil
    ) {
        self.report = report
        self.now = now
        self.lockTimeout = lockTimeout
        self.checkpoint = checkpoint
    }
}

/// An initialised org: its home, state, identity and own database.
public final class Org {
    public let home: Home
    public let state: StateStore
    public let name: String
    public let databasePath: String
    public let environment: Environment
    private var lock: HomeLock?

    /// Opens the org in `home`.
    ///
    /// - Parameter locking: take the home's lock for the lifetime of the object (for commands that change state).
    public init(home: Home, environment: Environment, locking: Bool) throws {
        try home.requireInitialised()
        if locking { lock = try HomeLock(home: home, timeout: environment.lockTimeout) }
        self.home = home
        self.environment = environment
        state = try StateStore(path: home.statePath)
        guard let name = try state.setting("org_name"), let databasePath = try state.setting("database_path") else {
            throw XOShareError.configuration(
                "The state in \(home.path) is incomplete; run 'xoshare init' again in a new home.")
        }
        self.name = name
        self.databasePath = databasePath
    }

    /// Creates a new org: its home folder, Ed25519 key pair, state and (if missing) database.
    ///
    /// - Throws: `XOShareError` (configuration) when the home already holds an org.
    @discardableResult
    public static func initialise(home: Home, orgName: String, databasePath: String, environment: Environment) throws
        -> Org
    {
        let name = orgName.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty, name.utf8.count <= InvitationCode.maximumOrgNameBytes,
            !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else {
            throw XOShareError.usage(
                "The org name must be 1 to \(InvitationCode.maximumOrgNameBytes) bytes of printable text.")
        }
        if home.isInitialised || Files.exists(home.statePath) {
            throw XOShareError.configuration(
                "\(home.path) already holds an xoshare org; use another --home to set up a second one.")
        }
        if !Files.isDirectory(home.path) {
            try valueOrErrno("create the folder", home.path) { mkdir(home.path, 0o700) }
        }
        let lock = try HomeLock(home: home, timeout: environment.lockTimeout)
        let database = Files.absolute(databasePath)
        // Creates the org database if it does not exist, and checks it is one.
        _ = try Database(path: database, mode: .readWriteCreate)
        do {
            let key = try SigningKey()
            let state = try StateStore(path: home.statePath, create: true)
            try state.database.transaction {
                try state.setSetting("org_name", name)
                try state.setSetting("database_path", database)
                try state.setSetting("created_at", String(environment.now()))
            }
            try Files.writeAtomically(try key.pemRepresentation(), to: home.identityKeyPath, mode: 0o600)
        } catch {
            unlink(home.statePath)
            unlink(home.identityKeyPath)
            throw error
        }
        withExtendedLifetime(lock) {}
        return try Org(home: home, environment: environment, locking: false)
    }

    /// The org's signing key, loaded on first use.
    public lazy var signingKey: Result<SigningKey, any Error> = Result { try home.loadSigningKey() }

    public var publicKey: [UInt8] {
        get throws { try signingKey.get().publicKey }
    }

    /// Opens the org's own database.
    func openDatabase(readOnly: Bool) throws -> Database {
        guard Files.exists(databasePath) else {
            throw XOShareError.noInput(
                "The org database \(databasePath) is missing; restore it, or set up the org again with 'xoshare init'.")
        }
        return try Database(path: databasePath, mode: readOnly ? .readOnly : .readWrite)
    }
}
