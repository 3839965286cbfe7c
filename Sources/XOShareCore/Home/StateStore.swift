import Foundation

/// The states a connection passes through, named as Salesforce names them.
public enum ConnectionState: String, Sendable, Codable, CaseIterable {
    /// Hub side: invitation created, no acceptance seen yet.
    case pending = "Pending"
    /// Spoke side: code accepted, no bundle from the hub applied yet.
    case contactingHub = "Contacting Hub"
    /// Both sides: acceptance verified (hub) or a bundle applied (spoke).
    case connected = "Connected"
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
}

/// A spoke's record of a hub whose invitation it accepted.
public struct AcceptedHub: Sendable, Equatable {
    public var id: ConnectionID
    public var name: String
    public var hubOrg: String
    public var hubPublicKey: [UInt8]
    public var secret: [UInt8]
    public var state: ConnectionState
    public var acceptedAt: Int64
    public var appliedSequence: Int64
    public var appliedBundleHash: [UInt8]?
    public var appliedAt: Int64?
    public var bundleCreatedAt: Int64?
}

/// The org's own state under --home: settings, shares and connections, in one
/// SQLite file readable by its owner only.
public final class StateStore {
    static let schemaVersion: Int64 = 1
    public let database: Database

    public init(path: String, create: Bool = false) throws {
        if create {
            // Created with mode 0600 before SQLite opens it: it holds invitation secrets.
            let file = try FileDescriptor(
                path: path, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o600, operation: "create")
            _ = file
        }
        database = try Database(path: path, mode: .readWrite)
        try migrate()
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
                        object TEXT PRIMARY KEY, primary_key TEXT NOT NULL, fields TEXT NOT NULL, updated_at INTEGER NOT NULL);
                    CREATE TABLE spoke_connection(
                        id TEXT PRIMARY KEY, spoke_name TEXT NOT NULL UNIQUE, state TEXT NOT NULL, secret BLOB NOT NULL,
                        created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
                        spoke_org TEXT, spoke_public_key BLOB, accepted_at INTEGER,
                        last_sequence INTEGER NOT NULL DEFAULT 0, last_bundle_hash BLOB, last_exported_at INTEGER);
                    CREATE TABLE accepted_hub(
                        id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, hub_org TEXT NOT NULL, hub_public_key BLOB NOT NULL,
                        secret BLOB NOT NULL, state TEXT NOT NULL, accepted_at INTEGER NOT NULL,
                        applied_sequence INTEGER NOT NULL DEFAULT 0, applied_bundle_hash BLOB,
                        applied_at INTEGER, bundle_created_at INTEGER);
                    CREATE TABLE hub_table(
                        connection_id TEXT NOT NULL, object TEXT NOT NULL, table_name TEXT NOT NULL UNIQUE,
                        row_count INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(connection_id, object));
                    PRAGMA user_version = 1;
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
        last_sequence, last_bundle_hash, last_exported_at
        """

    public func spokeConnections() throws -> [SpokeConnection] {
        try database.rows("SELECT \(Self.connectionColumns) FROM spoke_connection ORDER BY spoke_name").map(
            Self.connection)
    }

    public func spokeConnection(id: ConnectionID) throws -> SpokeConnection? {
        try database.rows(
            "SELECT \(Self.connectionColumns) FROM spoke_connection WHERE id = ?", [.string(id.description)]
        )
        .first.map(Self.connection)
    }

    private static func connection(_ row: [SQLValue]) -> SpokeConnection {
        SpokeConnection(
            id: ConnectionID(hex: row[0].string)!, spokeName: row[1].string,
            state: ConnectionState(rawValue: row[2].string) ?? .pending, secret: row[3].bytes,
            createdAt: row[4].integer ?? 0, expiresAt: row[5].integer ?? 0, spokeOrg: row[6].optionalString,
            spokePublicKey: row[7].optionalBytes, acceptedAt: row[8].integer, lastSequence: row[9].integer ?? 0,
            lastBundleHash: row[10].optionalBytes, lastExportedAt: row[11].integer)
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

    public func recordExport(_ id: ConnectionID, sequence: Int64, bundleHash: [UInt8], at time: Int64) throws {
        try database.run(
            "UPDATE spoke_connection SET last_sequence = ?, last_bundle_hash = ?, last_exported_at = ? WHERE id = ?",
            [.integer(sequence), .blob(bundleHash), .integer(time), .string(id.description)])
    }

    // MARK: Spoke side: accepted hubs

    static let hubColumns = """
        id, name, hub_org, hub_public_key, secret, state, accepted_at, applied_sequence, applied_bundle_hash,
        applied_at, bundle_created_at
        """

    public func acceptedHubs() throws -> [AcceptedHub] {
        try database.rows("SELECT \(Self.hubColumns) FROM accepted_hub ORDER BY name").map(Self.hub)
    }

    public func acceptedHub(id: ConnectionID) throws -> AcceptedHub? {
        try database.rows("SELECT \(Self.hubColumns) FROM accepted_hub WHERE id = ?", [.string(id.description)])
            .first.map(Self.hub)
    }

    private static func hub(_ row: [SQLValue]) -> AcceptedHub {
        AcceptedHub(
            id: ConnectionID(hex: row[0].string)!, name: row[1].string, hubOrg: row[2].string,
            hubPublicKey: row[3].bytes,
            secret: row[4].bytes, state: ConnectionState(rawValue: row[5].string) ?? .contactingHub,
            acceptedAt: row[6].integer ?? 0, appliedSequence: row[7].integer ?? 0,
            appliedBundleHash: row[8].optionalBytes,
            appliedAt: row[9].integer, bundleCreatedAt: row[10].integer)
    }

    public func insertAcceptedHub(_ hub: AcceptedHub) throws {
        try database.run(
            """
            INSERT INTO accepted_hub(id, name, hub_org, hub_public_key, secret, state, accepted_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .string(hub.id.description), .string(hub.name), .string(hub.hubOrg), .blob(hub.hubPublicKey),
                .blob(hub.secret), .string(hub.state.rawValue), .integer(hub.acceptedAt),
            ])
    }

    /// The tables the spoke holds for each hub, as (object, table, rows).
    public func hubTables(_ id: ConnectionID) throws -> [(object: String, table: String, rows: Int64)] {
        try database.rows(
            "SELECT object, table_name, row_count FROM hub_table WHERE connection_id = ? ORDER BY object",
            [.string(id.description)]
        ).map { ($0[0].string, $0[1].string, $0[2].integer ?? 0) }
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
