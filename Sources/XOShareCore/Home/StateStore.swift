import Foundation

/// The states a connection passes through, named as Salesforce names them.
public enum ConnectionState: String, Sendable, Codable, CaseIterable {
    /// Hub side: invitation created, no acceptance seen yet.
    case pending = "Pending"
    /// Spoke side: code accepted, no bundle from the hub applied yet.
    case contactingHub = "Contacting Hub"
    /// Both sides: acceptance verified (hub) or a bundle applied (spoke).
    case connected = "Connected"
    /// Both sides: the hub ended the connection; no bundle is made or applied any more.
    case revoked = "Revoked"
    /// Hub side: the invitation was withdrawn before it was accepted.
    case cancelled = "Cancelled"
}

/// One object (table) the hub shares and the fields it permits.
public struct Share: Sendable, Equatable, Codable {
    public var object: String
    public var primaryKey: String
    /// The shared columns, primary key included, in the table's column order.
    public var fields: [String]
}

/// A hub's connection to one spoke.
public struct SpokeConnection: Sendable, Equatable {
    public var id: ConnectionID
    public var spokeName: String
    public var state: ConnectionState
    public var secret: [UInt8]
    public var createdAt: Int64
    public var expiresAt: Int64
    public var spokeOrg: String?
    public var spokePublicKey: [UInt8]?
    public var acceptedAt: Int64?
    public var lastSequence: Int64
    public var lastBundleHash: [UInt8]?
    public var lastExportedAt: Int64?
    /// The change-tracking version the last bundle brought the spoke up to (0: none yet).
    public var exportedVersion: Int64
    /// A hash of the objects and fields the last bundle carried, to notice a change of shares.
    public var exportedSharesHash: [UInt8]?
    public var acknowledgedSequence: Int64
    public var acknowledgedAt: Int64?
    public var revokedAt: Int64?
    /// Whether the spoke is told to delete its copies when it learns of the revocation.
    public var purgeOnRevoke: Bool
    /// The sequence of the revocation notice, once written.
    public var noticeSequence: Int64?
}

/// A spoke's record of a hub whose invitation it accepted: what it trusts.
///
/// What it applied from the hub is kept in the org database itself, next to
/// the data (see `SpokeLedger`), so that the two always change together.
public struct AcceptedHub: Sendable, Equatable {
    public var id: ConnectionID
    public var name: String
    public var hubOrg: String
    public var hubPublicKey: [UInt8]
    public var secret: [UInt8]
    public var acceptedAt: Int64
    /// Put before each object's name in the spoke's table names (empty by default).
    public var tablePrefix: String

    var trust: TrustedConnection {
        TrustedConnection(connectionID: id, hubPublicKey: hubPublicKey, secret: secret, hubName: name)
    }
}

/// The org's own state under --home: settings, shares and connections, in one
/// SQLite file readable by its owner only.
public final class StateStore {
    static let schemaVersion: Int64 = 2
    public let database: Database

    public init(path: String, create: Bool = false) throws {
        if create {
            // Created with mode 0600 before SQLite opens it: it holds invitation secrets.
            _ = try FileDescriptor(path: path, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o600, operation: "create")
        }
        database = try Database(path: path, mode: .readWrite)
        try migrate()
    }

    /// The same state through another connection, e.g. one that has the org database attached.
    init(connection: Database) {
        database = connection
    }

    private func migrate() throws {
        let version = try database.rows("PRAGMA user_version")[0][0]
        guard case .integer(let current) = version else { return }
        if current > Self.schemaVersion {
            throw XOShareError.configuration(
                "The state in \(database.path) was written by a newer xoshare; upgrade xoshare to use it.")
        }
        if current == 0 {
            try database.transaction {
                try database.execute(
                    """
                    CREATE TABLE setting(name TEXT PRIMARY KEY, value TEXT NOT NULL);
                    CREATE TABLE share(
                        object TEXT PRIMARY KEY, primary_key TEXT NOT NULL, fields TEXT NOT NULL,
                        updated_at INTEGER NOT NULL);
                    CREATE TABLE spoke_connection(
                        id TEXT PRIMARY KEY, spoke_name TEXT NOT NULL UNIQUE, state TEXT NOT NULL,
                        secret BLOB NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
                        spoke_org TEXT, spoke_public_key BLOB, accepted_at INTEGER,
                        last_sequence INTEGER NOT NULL DEFAULT 0, last_bundle_hash BLOB, last_exported_at INTEGER,
                        exported_version INTEGER NOT NULL DEFAULT 0, exported_shares_hash BLOB,
                        acknowledged_sequence INTEGER NOT NULL DEFAULT 0, acknowledged_at INTEGER,
                        revoked_at INTEGER, purge_on_revoke INTEGER NOT NULL DEFAULT 0, notice_sequence INTEGER);
                    CREATE TABLE accepted_hub(
                        id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, hub_org TEXT NOT NULL,
                        hub_public_key BLOB NOT NULL, secret BLOB NOT NULL, accepted_at INTEGER NOT NULL,
                        table_prefix TEXT NOT NULL DEFAULT '');
                    -- Change tracking at the hub: for each shared object, a table tracked_rows_<id>
                    -- with one row per record: the hash of its shared fields and the tracking
                    -- version in which it last changed (hash NULL: deleted in that version).
                    CREATE TABLE tracked_object(
                        id INTEGER PRIMARY KEY, object TEXT NOT NULL UNIQUE, schema_hash BLOB NOT NULL,
                        reset_version INTEGER NOT NULL);
                    PRAGMA user_version = 1;
                    """)
            }
        }
        if current < 2 {
            try database.transaction {
                try database.execute(
                    """
                    -- Change capture (hub capture on): the shared objects whose triggers were in
                    -- place when the export of tracking version `version` read the org database.
                    CREATE TABLE captured_object(object TEXT PRIMARY KEY, version INTEGER NOT NULL);
                    PRAGMA user_version = 2;
                    """)
            }
        }
    }

    // MARK: Settings

    public func setting(_ name: String) throws -> String? {
        try database.rows("SELECT value FROM setting WHERE name = ?", [.string(name)]).first.map {
            String(describing: $0[0])
        }
    }

    public func setSetting(_ name: String, _ value: String) throws {
        try database.run(
            "INSERT INTO setting(name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            [.string(name), .string(value)])
    }

    // MARK: Shares

    public func shares() throws -> [Share] {
        try database.rows("SELECT object, primary_key, fields FROM share ORDER BY object").map { row in
            let fields = try JSONDecoder().decode([String].self, from: Data(row[2].bytes))
            return Share(object: row[0].string, primaryKey: row[1].string, fields: fields)
        }
    }

    public func saveShare(_ share: Share, at time: Int64) throws {
        let fields = String(decoding: try JSONEncoder().encode(share.fields), as: UTF8.self)
        try database.run(
            """
            INSERT INTO share(object, primary_key, fields, updated_at) VALUES (?, ?, ?, ?)
            ON CONFLICT(object) DO UPDATE SET primary_key = excluded.primary_key, fields = excluded.fields,
                updated_at = excluded.updated_at
            """, [.string(share.object), .string(share.primaryKey), .string(fields), .integer(time)])
    }

    /// - Returns: whether the object was shared.
    public func removeShare(_ object: String) throws -> Bool {
        try database.run("DELETE FROM share WHERE object = ?", [.string(object)])
        return database.changes > 0
    }

    // MARK: Hub side: spoke connections

    static let connectionColumns = """
        id, spoke_name, state, secret, created_at, expires_at, spoke_org, spoke_public_key, accepted_at,
        last_sequence, last_bundle_hash, last_exported_at, exported_version, exported_shares_hash,
        acknowledged_sequence, acknowledged_at, revoked_at, purge_on_revoke, notice_sequence
        """

    public func spokeConnections() throws -> [SpokeConnection] {
        try database.rows("SELECT \(Self.connectionColumns) FROM spoke_connection ORDER BY spoke_name")
            .map { try Self.connection($0) }
    }

    public func spokeConnection(id: ConnectionID) throws -> SpokeConnection? {
        try database.rows(
            "SELECT \(Self.connectionColumns) FROM spoke_connection WHERE id = ?", [.string(id.description)]
        ).first.map { try Self.connection($0) }
    }

    public func spokeConnection(named name: String) throws -> SpokeConnection? {
        try database.rows(
            "SELECT \(Self.connectionColumns) FROM spoke_connection WHERE spoke_name = ?", [.string(name)]
        )
        .first.map { try Self.connection($0) }
    }

    private static func connection(_ row: [SQLValue]) throws -> SpokeConnection {
        SpokeConnection(
            id: try connectionID(row[0]), spokeName: row[1].string,
            state: ConnectionState(rawValue: row[2].string) ?? .pending, secret: row[3].bytes,
            createdAt: row[4].integer ?? 0, expiresAt: row[5].integer ?? 0, spokeOrg: row[6].optionalString,
            spokePublicKey: row[7].optionalBytes, acceptedAt: row[8].integer, lastSequence: row[9].integer ?? 0,
            lastBundleHash: row[10].optionalBytes, lastExportedAt: row[11].integer,
            exportedVersion: row[12].integer ?? 0, exportedSharesHash: row[13].optionalBytes,
            acknowledgedSequence: row[14].integer ?? 0, acknowledgedAt: row[15].integer, revokedAt: row[16].integer,
            purgeOnRevoke: (row[17].integer ?? 0) != 0, noticeSequence: row[18].integer)
    }

    public func insertSpokeConnection(_ connection: SpokeConnection) throws {
        try database.run(
            """
            INSERT INTO spoke_connection(id, spoke_name, state, secret, created_at, expires_at)
            VALUES (?, ?, ?, ?, ?, ?)
            """,
            [
                .string(connection.id.description), .string(connection.spokeName), .string(connection.state.rawValue),
                .blob(connection.secret), .integer(connection.createdAt), .integer(connection.expiresAt),
            ])
    }

    public func markConnected(_ id: ConnectionID, spokeOrg: String, spokePublicKey: [UInt8], at time: Int64) throws {
        try database.run(
            "UPDATE spoke_connection SET state = ?, spoke_org = ?, spoke_public_key = ?, accepted_at = ? WHERE id = ?",
            [
                .string(ConnectionState.connected.rawValue), .string(spokeOrg), .blob(spokePublicKey), .integer(time),
                .string(id.description),
            ])
    }

    /// Records a bundle written for a connection (its file is renamed into place after the commit).
    func recordExport(
        _ id: ConnectionID, sequence: Int64, bundleHash: [UInt8], version: Int64, sharesHash: [UInt8]?, at time: Int64
    ) throws {
        try database.run(
            """
            UPDATE spoke_connection SET last_sequence = ?, last_bundle_hash = ?, last_exported_at = ?,
                exported_version = ?, exported_shares_hash = ? WHERE id = ?
            """,
            [
                .integer(sequence), .blob(bundleHash), .integer(time), .integer(version),
                sharesHash.map { .blob($0) } ?? .null, .string(id.description),
            ])
    }

    func recordRevocationNotice(_ id: ConnectionID, sequence: Int64, bundleHash: [UInt8], at time: Int64) throws {
        try database.run(
            """
            UPDATE spoke_connection SET last_sequence = ?, last_bundle_hash = ?, last_exported_at = ?,
                notice_sequence = ? WHERE id = ?
            """, [.integer(sequence), .blob(bundleHash), .integer(time), .integer(sequence), .string(id.description)])
    }

    func recordAcknowledgement(_ id: ConnectionID, sequence: Int64, at time: Int64) throws {
        try database.run(
            "UPDATE spoke_connection SET acknowledged_sequence = ?, acknowledged_at = ? WHERE id = ?",
            [.integer(sequence), .integer(time), .string(id.description)])
    }

    func setState(_ id: ConnectionID, _ state: ConnectionState, revokedAt: Int64? = nil, purge: Bool = false) throws {
        try database.run(
            "UPDATE spoke_connection SET state = ?, revoked_at = coalesce(?, revoked_at), purge_on_revoke = ? WHERE id = ?",
            [
                .string(state.rawValue), revokedAt.map { .integer($0) } ?? .null, .integer(purge ? 1 : 0),
                .string(id.description),
            ])
    }

    /// A connection id read back from the state; an edited or damaged file gets a message, not a crash.
    private static func connectionID(_ value: SQLValue) throws -> ConnectionID {
        guard let id = ConnectionID(hex: value.string) else {
            throw XOShareError.configuration(
                "The state database holds a malformed connection id '\(value.string)'; restore HOME/state.db from a backup."
            )
        }
        return id
    }

    // MARK: Spoke side: accepted hubs

    static let hubColumns = "id, name, hub_org, hub_public_key, secret, accepted_at, table_prefix"

    public func acceptedHubs() throws -> [AcceptedHub] {
        try database.rows("SELECT \(Self.hubColumns) FROM accepted_hub ORDER BY name").map { try Self.hub($0) }
    }

    public func acceptedHub(id: ConnectionID) throws -> AcceptedHub? {
        try database.rows("SELECT \(Self.hubColumns) FROM accepted_hub WHERE id = ?", [.string(id.description)])
            .first.map { try Self.hub($0) }
    }

    private static func hub(_ row: [SQLValue]) throws -> AcceptedHub {
        AcceptedHub(
            id: try connectionID(row[0]), name: row[1].string, hubOrg: row[2].string,
            hubPublicKey: row[3].bytes, secret: row[4].bytes, acceptedAt: row[5].integer ?? 0,
            tablePrefix: row[6].string)
    }

    public func insertAcceptedHub(_ hub: AcceptedHub) throws {
        try database.run(
            """
            INSERT INTO accepted_hub(id, name, hub_org, hub_public_key, secret, accepted_at, table_prefix)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .string(hub.id.description), .string(hub.name), .string(hub.hubOrg), .blob(hub.hubPublicKey),
                .blob(hub.secret), .integer(hub.acceptedAt), .string(hub.tablePrefix),
            ])
    }
}

extension SQLValue {
    var string: String { optionalString ?? "" }
    var optionalString: String? {
        switch self {
        case .text(let bytes), .blob(let bytes): String(decoding: bytes, as: UTF8.self)
        case .integer(let value): String(value)
        case .real(let value): String(value)
        case .null: nil
        }
    }
    var bytes: [UInt8] { optionalBytes ?? [] }
    var optionalBytes: [UInt8]? {
        switch self {
        case .text(let bytes), .blob(let bytes): bytes
        default: nil
        }
    }
    var integer: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }
}
