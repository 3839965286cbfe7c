import Foundation

/// Finds what changed in the shared objects since earlier exports, with no
/// help from the hub's applications (no timestamps, triggers or change logs).
///
/// Each export run scans every shared object once and compares the hash of each
/// record's shared fields with the hash recorded by the previous run. A record
/// that is new or changed gets the run's version; a record that disappeared
/// keeps a tombstone with that version. A connection whose last bundle brought
/// it to version R then needs exactly the records with a version above R.
/// An object whose fields or types change starts again: its tracking is reset
/// and every connection gets it whole.
///
/// The tracking tables live in the hub's state database; the org database is
/// attached read-only as `org` to the same connection, so that SQLite does the
/// whole comparison in one statement, hashing through `xo_row_hash()`.
struct ChangeTracker {
    let connection: Database

    init(connection: Database) throws {
        self.connection = connection
        let hasher = RowHasher()
        try connection.defineBlobFunction("xo_row_hash") { hasher.hash($0) }
    }

    /// What the scan found, for the connections to pick their changes from.
    struct Update {
        var version: Int64
        /// For each object, the version at which its tracking last started over.
        var resetVersions: [String: Int64]
        /// For each object, the table that tracks it.
        var tables: [String: String]
    }

    /// Records the current state of every shared object under a new version.
    func update(objects: [ObjectSchema]) throws -> Update {
        let state = StateStore(connection: connection)
        let version = (Int64(try state.setting("tracking_version") ?? "0") ?? 0) + 1
        var update = Update(version: version, resetVersions: [:], tables: [:])
        let shared = Set(objects.map(\.name))
        for row in try connection.rows("SELECT id, object FROM main.tracked_object")
        where !shared.contains(row[1].string) {
            try connection.execute("DROP TABLE IF EXISTS main.\(Self.tableName(row[0].integer ?? 0))")
            try connection.run("DELETE FROM main.tracked_object WHERE id = ?", [row[0]])
        }
        for object in objects {
            let (table, reset) = try trackingTable(for: object, version: version)
            update.tables[object.name] = table
            update.resetVersions[object.name] = reset
            // A table made in this run has no earlier records, so none can have vanished.
            try recordChanges(of: object, in: table, version: version, findDeletions: reset != version)
        }
        try state.setSetting("tracking_version", String(version))
        return update
    }

    static func tableName(_ id: Int64) -> String { "tracked_rows_\(id)" }

    /// The hash of an object's shape: its name, key, fields and their types.
    static func schemaHash(_ object: ObjectSchema) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return SHA256.hash(Array(try encoder.encode(object)))
    }

    /// The object's tracking table, made anew when the object's shape changed.
    private func trackingTable(for object: ObjectSchema, version: Int64) throws -> (table: String, reset: Int64) {
        let hash = try Self.schemaHash(object)
        let known = try connection.rows(
            "SELECT id, schema_hash, reset_version FROM main.tracked_object WHERE object = ?", [.string(object.name)]
        ).first
        if let known, known[1] == .blob(hash), let id = known[0].integer, let reset = known[2].integer {
            return (Self.tableName(id), reset)
        }
        if let id = known?[0].integer {
            try connection.execute("DROP TABLE IF EXISTS main.\(Self.tableName(id))")
            try connection.run("DELETE FROM main.tracked_object WHERE id = ?", [.integer(id)])
        }
        try connection.run(
            "INSERT INTO main.tracked_object(object, schema_hash, reset_version) VALUES (?, ?, ?)",
            [.string(object.name), .blob(hash), .integer(version)])
        let id = try connection.rows("SELECT last_insert_rowid()")[0][0].integer ?? 0
        let table = Self.tableName(id)
        // The key column has no type, so it keeps each key exactly as the org database holds it.
        try connection.execute(
            "CREATE TABLE main.\(table) (key PRIMARY KEY, hash BLOB, version INTEGER NOT NULL) WITHOUT ROWID")
        return (table, version)
    }

    /// Gives the new version to each record whose hash changed and a tombstone to each record that is gone.
    private func recordChanges(of object: ObjectSchema, in table: String, version: Int64, findDeletions: Bool) throws {
        let source = "org." + quoteIdentifier(object.name)
        let key = quoteIdentifier(object.primaryKey)
        let columns = object.fields.map { "t." + quoteIdentifier($0.name) }.joined(separator: ", ")
        // "WHERE true" keeps SQLite from reading ON CONFLICT as part of the SELECT.
        try connection.run(
            """
            INSERT INTO main.\(table) (key, hash, version)
            SELECT t.\(key), xo_row_hash(\(columns)), ?1 FROM \(source) AS t WHERE t.\(key) IS NOT NULL AND true
            ON CONFLICT (key) DO UPDATE SET hash = excluded.hash, version = excluded.version
            WHERE hash IS NOT excluded.hash
            """, [.integer(version)])
        guard findDeletions else { return }
        try connection.run(
            """
            UPDATE main.\(table) SET hash = NULL, version = ?1
            WHERE hash IS NOT NULL AND NOT EXISTS (SELECT 1 FROM \(source) AS t WHERE t.\(key) = main.\(table).key)
            """, [.integer(version)])
    }

    /// Whether any record tracked in `table` changed after `version`.
    func hasChanges(in table: String, after version: Int64) throws -> Bool {
        try !connection.rows("SELECT 1 FROM main.\(table) WHERE version > ? LIMIT 1", [.integer(version)]).isEmpty
    }

    /// Forgets the tombstones every connection has already been sent.
    func discardTombstones(in tables: [String], seenBy versions: [Int64]) throws {
        let oldest = versions.min() ?? Int64.max
        for table in tables {
            try connection.run("DELETE FROM main.\(table) WHERE hash IS NULL AND version <= ?", [.integer(oldest)])
        }
    }
}

/// The hash that tells whether a record's shared fields changed: the first 16
/// bytes of the SHA-256 of the record as a bundle encodes it (so a change of
/// storage class counts as a change).
final class RowHasher {
    static let byteCount = 16
    private var encoded = ByteWriter(capacity: 4096)
    private let hasher = SHA256()

    func hash(_ arguments: SQLFunctionArguments) -> [UInt8] {
        encoded.removeAll()
        for index in arguments.indices { RecordCodec.appendColumn(arguments, index, to: &encoded) }
        hasher.reset()
        encoded.bytes.withUnsafeBytes { hasher.update($0) }
        return Array(hasher.finalize().prefix(Self.byteCount))
    }
}
