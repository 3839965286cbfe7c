/// What a spoke applied from its hubs, kept in the spoke's org database next to
/// the copies, so that data and bookkeeping change in the same transaction
/// whatever the database's journal mode.
///
/// Two tables: `xoshare_applied__xo` lists every bundle applied (sequence, kind,
/// hash, times), and `xoshare_tables__xo` which table holds which hub's object.
struct SpokeLedger {
    static let appliedTable = "xoshare_applied__xo"
    static let tablesTable = "xoshare_tables__xo"

    struct Applied: Equatable {
        var sequence: Int64
        var kind: String
        var bundleHash: [UInt8]
        var createdAt: Int64
        var appliedAt: Int64
    }

    let database: Database
    /// The schema the ledger tables are in (`main`, or an attached name).
    var schema = "main"

    private var applied: String { quoteIdentifier(schema) + "." + Self.appliedTable }
    private var tables: String { quoteIdentifier(schema) + "." + Self.tablesTable }

    func create() throws {
        try database.execute(
            """
            CREATE TABLE IF NOT EXISTS \(applied) (
                connection TEXT NOT NULL, sequence INTEGER NOT NULL, kind TEXT NOT NULL, bundle_hash BLOB NOT NULL,
                created_at INTEGER NOT NULL, applied_at INTEGER NOT NULL, PRIMARY KEY (connection, sequence));
            CREATE TABLE IF NOT EXISTS \(tables) (
                connection TEXT NOT NULL, object TEXT NOT NULL, table_name TEXT NOT NULL UNIQUE,
                PRIMARY KEY (connection, object));
            """)
    }

    /// Whether the ledger exists yet (it is made by the first sync).
    var exists: Bool {
        get throws {
            try !database.rows(
                "SELECT 1 FROM \(quoteIdentifier(schema)).sqlite_schema WHERE name = ?", [.string(Self.appliedTable)]
            ).isEmpty
        }
    }

    private func appliedRows(_ condition: String, _ arguments: [SQLValue]) throws -> [Applied] {
        guard try exists else { return [] }
        return try database.rows(
            "SELECT sequence, kind, bundle_hash, created_at, applied_at FROM \(applied) WHERE \(condition)", arguments
        ).map {
            Applied(
                sequence: $0[0].integer ?? 0, kind: $0[1].string, bundleHash: $0[2].bytes,
                createdAt: $0[3].integer ?? 0,
                appliedAt: $0[4].integer ?? 0)
        }
    }

    /// The last bundle applied from a connection.
    func latest(_ connection: ConnectionID) throws -> Applied? {
        try appliedRows("connection = ? ORDER BY sequence DESC LIMIT 1", [.string(connection.description)]).first
    }

    func applied(_ connection: ConnectionID, sequence: Int64) throws -> Applied? {
        try appliedRows("connection = ? AND sequence = ?", [.string(connection.description), .integer(sequence)]).first
    }

    func record(_ connection: ConnectionID, _ entry: Applied) throws {
        try database.run(
            "INSERT INTO \(applied) (connection, sequence, kind, bundle_hash, created_at, applied_at) VALUES (?, ?, ?, ?, ?, ?)",
            [
                .string(connection.description), .integer(entry.sequence), .string(entry.kind), .blob(entry.bundleHash),
                .integer(entry.createdAt), .integer(entry.appliedAt),
            ])
    }

    /// The copies of a connection's objects, as (object, table).
    func tables(of connection: ConnectionID) throws -> [(object: String, table: String)] {
        guard try exists else { return [] }
        return try database.rows(
            "SELECT object, table_name FROM \(tables) WHERE connection = ? ORDER BY object",
            [.string(connection.description)]
        ).map { ($0[0].string, $0[1].string) }
    }

    /// The connection whose copy a table is, if any (names compared as SQLite does, without case).
    func owner(ofTable table: String) throws -> ConnectionID? {
        guard try exists else { return nil }
        return try database.rows(
            "SELECT connection FROM \(tables) WHERE table_name = ? COLLATE NOCASE", [.string(table)]
        ).first.flatMap { ConnectionID(hex: $0[0].string) }
    }

    func setTable(_ connection: ConnectionID, object: String, table: String) throws {
        try database.run(
            """
            INSERT INTO \(tables) (connection, object, table_name) VALUES (?, ?, ?)
            ON CONFLICT (connection, object) DO UPDATE SET table_name = excluded.table_name
            """, [.string(connection.description), .string(object), .string(table)])
    }

    func removeTable(_ connection: ConnectionID, object: String) throws {
        try database.run(
            "DELETE FROM \(tables) WHERE connection = ? AND object = ?",
            [.string(connection.description), .string(object)])
    }
}
