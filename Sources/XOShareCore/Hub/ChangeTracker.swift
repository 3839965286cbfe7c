import Foundation

/// Finds what changed in the shared objects since earlier exports.
///
/// Each export run reads every shared object once and compares the hash of each
/// record's shared fields with the hash recorded by the previous run; or, for
/// an object whose changes the org database logs (`ChangeCapture`), reads and
/// compares only the records whose keys the log names. A record
/// that is new or changed gets the run's version; a record that disappeared
/// keeps a tombstone with that version. A connection whose last bundle brought
/// it to version R then needs exactly the records with a version above R.
/// An object whose fields or types change starts again: its tracking is reset
/// and every connection gets it whole.
///
/// The tracking tables live in the hub's state database; the org database is
/// attached read-only as `org` to the same connection. The scan walks the
/// object and its tracking table side by side in key order (`ObjectScan`),
/// and the records it encodes to hash them are the records the bundles carry:
/// the complete object and this run's changes go into `RecordStream`s as they
/// are read, once for all the spokes that need them.
struct ChangeTracker {
    let connection: Database

    init(connection: Database) throws {
        self.connection = connection
        let hasher = RowHasher()
        try connection.defineBlobFunction("xo_row_hash") { hasher.hash($0) }
    }

    /// What a connection about to get a bundle needs from the scan.
    struct Reader {
        /// The tracking version of the connection's last bundle (0: none yet).
        var since: Int64
        /// Whether it gets every object whole.
        var snapshot: Bool
    }

    /// One shared object after the scan.
    struct TrackedObject {
        var schema: ObjectSchema
        /// The table that tracks it.
        var table: String
        /// The version at which its tracking last started over.
        var resetVersion: Int64
        /// Every record, when some reader gets the object whole.
        var complete: RecordStream?
        /// The records changed in this run, when some reader's last bundle is from the run before.
        var latestChanges: RecordStream?
    }

    /// What the scan found, for the connections to pick their records from.
    struct Update {
        var version: Int64
        var objects: [TrackedObject]
        /// The objects that could not be merged and were tracked by the slower SQL statements, and why.
        var trackedWithSQL: [(object: String, reason: ObjectScan.CannotMerge)] = []

        /// Whether `reader` gets object `index` whole.
        func isComplete(_ index: Int, for reader: Reader) -> Bool {
            reader.snapshot || objects[index].resetVersion > reader.since
        }
    }

    /// The changes the org database logged since the last run, for the objects whose log is trusted.
    struct LoggedChanges {
        var range: ChangeCapture.Range
        var objects: Set<String>
    }

    /// Records the current state of every shared object under a new version,
    /// writing the record streams `readers` need as it reads.
    /// - Parameters:
    ///   - pipelined: whether each scan hashes and compares on a second thread.
    ///   - logged: objects whose changes are read from the change log rather than
    ///     found by comparing every record (unless some reader gets them whole).
    func update(
        objects: [ObjectSchema], readers: [Reader], pipelined: Bool = true, logged: LoggedChanges? = nil,
        makeStream: (_ object: Int) throws -> RecordStream
    ) throws -> Update {
        let state = StateStore(connection: connection)
        let version = (Int64(try state.setting("tracking_version") ?? "0") ?? 0) + 1
        var update = Update(version: version, objects: [])
        for object in objects {
            let (table, reset) = try trackingTable(for: object, version: version)
            update.objects.append(TrackedObject(schema: object, table: table, resetVersion: reset))
        }
        // Existing tracking tables first, and their new rows applied only after all are
        // read: each scan reads its table on a second connection, which a large write
        // of this transaction (one that spills to the file) would lock out.
        // Objects read from the change log write little, so they come next.
        let isNew = { (index: Int) in update.objects[index].resetVersion == version }
        let wantsComplete = { (index: Int) in readers.contains { update.isComplete(index, for: $0) } }
        let fromLog = { (index: Int) in
            !isNew(index) && !wantsComplete(index)
                && (logged?.objects.contains(update.objects[index].schema.name) ?? false)
        }
        let order =
            update.objects.indices.filter { !isNew($0) && !fromLog($0) } + update.objects.indices.filter(fromLog)
            + update.objects.indices.filter(isNew)
        var staged: [(staging: String, table: String)] = []
        for index in order {
            var tracked = update.objects[index]
            let object = tracked.schema
            let isNewTable = tracked.resetVersion == version
            let wantsComplete = wantsComplete(index)
            let wantsLatest = readers.contains { !update.isComplete(index, for: $0) && $0.since == version - 1 }
            tracked.complete = wantsComplete ? try makeStream(index) : nil
            tracked.latestChanges = wantsLatest ? try makeStream(index) : nil
            if let range = logged?.range, fromLog(index) {
                try recordLoggedChanges(of: object, in: tracked.table, version: version, range: range)
                if let changes = tracked.latestChanges {
                    try writeChanges(
                        of: object, tracked: tracked.table, after: version - 1, to: changes,
                        amongKeys: Self.loggedKeysTable)
                }
                update.objects[index] = tracked
                continue
            }
            let staging = "xo_tracking_changes_\(index)"
            do {
                try ObjectScan(
                    connection: connection, object: object, table: tracked.table, version: version,
                    isNewTable: isNewTable, stagingTable: staging, pipelined: pipelined
                ).run(complete: tracked.complete, changes: tracked.latestChanges)
                if !isNewTable { staged.append((staging, tracked.table)) }
            } catch let reason as ObjectScan.CannotMerge {
                // Keys SQLite orders otherwise, or a tracking table the second connection could
                // not read: nothing was applied to the tracking table, so start over with SQL.
                update.trackedWithSQL.append((object.name, reason))
                tracked.complete = wantsComplete ? try makeStream(index) : nil
                tracked.latestChanges = wantsLatest ? try makeStream(index) : nil
                try recordChangesWithSQL(
                    of: object, in: tracked.table, version: version, findDeletions: !isNewTable)
                if let complete = tracked.complete { try writeAllRecords(of: object, to: complete) }
                if let changes = tracked.latestChanges {
                    try writeChanges(of: object, tracked: tracked.table, after: version - 1, to: changes)
                }
            }
            update.objects[index] = tracked
        }
        for (staging, table) in staged { try ObjectScan.applyStaged(staging, to: table, in: connection) }
        let shared = Set(objects.map(\.name))
        for row in try connection.rows("SELECT id, object FROM main.tracked_object")
        where !shared.contains(row[1].string) {
            try connection.execute("DROP TABLE IF EXISTS main.\(Self.tableName(row[0].integer ?? 0))")
            try connection.run("DELETE FROM main.tracked_object WHERE id = ?", [row[0]])
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
            try createTombstoneIndex(on: Self.tableName(id))  // for tables made before it existed
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
        try createTombstoneIndex(on: table)
        return (table, version)
    }

    /// An index of the tombstones alone, so that forgetting them (`discardTombstones`)
    /// costs what there is to forget, not a pass over every tracked row.
    private func createTombstoneIndex(on table: String) throws {
        try connection.execute(
            "CREATE INDEX IF NOT EXISTS main.\(table)_tombstones ON \(table) (version) WHERE hash IS NULL")
    }

    /// The slower way, for keys the scan cannot walk in order: one SQL statement gives the
    /// new version to each record whose hash changed, another a tombstone to each record that is gone.
    /// - Parameter keysTable: a table whose `key` column lists the only keys to look at.
    private func recordChangesWithSQL(
        of object: ObjectSchema, in table: String, version: Int64, findDeletions: Bool,
        amongKeys keysTable: String? = nil
    ) throws {
        let source = "org." + quoteIdentifier(object.name)
        let key = quoteIdentifier(object.primaryKey)
        let columns = object.fields.map { "t." + quoteIdentifier($0.name) }.joined(separator: ", ")
        // CROSS JOIN: one lookup per listed key, not a pass over the object.
        let rows = keysTable.map { "\($0) AS c CROSS JOIN \(source) AS t ON t.\(key) = c.key" } ?? "\(source) AS t"
        // "WHERE true" keeps SQLite from reading ON CONFLICT as part of the SELECT.
        try connection.run(
            """
            INSERT INTO main.\(table) (key, hash, version)
            SELECT t.\(key), xo_row_hash(\(columns)), ?1 FROM \(rows) WHERE t.\(key) IS NOT NULL AND true
            ON CONFLICT (key) DO UPDATE SET hash = excluded.hash, version = excluded.version
            WHERE hash IS NOT excluded.hash
            """, [.integer(version)])
        guard findDeletions else { return }
        let listed = keysTable.map { "AND key IN (SELECT key FROM \($0))" } ?? ""
        try connection.run(
            """
            UPDATE main.\(table) SET hash = NULL, version = ?1
            WHERE hash IS NOT NULL \(listed)
            AND NOT EXISTS (SELECT 1 FROM \(source) AS t WHERE t.\(key) = main.\(table).key)
            """, [.integer(version)])
    }

    static let loggedKeysTable = "temp.xo_logged_keys"

    /// The change-capture way: the keys the log names in `range` go into
    /// `loggedKeysTable`, and the SQL comparison runs on those keys only. Same
    /// outcome as the full comparison for them; the other records did not change.
    private func recordLoggedChanges(
        of object: ObjectSchema, in table: String, version: Int64, range: ChangeCapture.Range
    ) throws {
        let keys = Self.loggedKeysTable
        try connection.execute(
            "DROP TABLE IF EXISTS \(keys); CREATE TABLE \(keys) (key PRIMARY KEY) WITHOUT ROWID;")
        try connection.run(
            """
            INSERT OR IGNORE INTO \(keys) (key)
            SELECT key FROM org.\(ChangeCapture.logTable) WHERE seq > ?1 AND seq <= ?2 AND object = ?3 AND key IS NOT NULL
            """, [.integer(range.after), .integer(range.upTo), .string(object.name)])
        try recordChangesWithSQL(of: object, in: table, version: version, findDeletions: true, amongKeys: keys)
    }

    /// Writes every record of `object` to `stream`.
    func writeAllRecords(of object: ObjectSchema, to stream: RecordStream) throws {
        let columns = object.fields.map { quoteIdentifier($0.name) }.joined(separator: ", ")
        let statement = try connection.prepare(
            "SELECT \(columns) FROM org.\(quoteIdentifier(object.name)) WHERE \(quoteIdentifier(object.primaryKey)) IS NOT NULL"
        )
        try Self.writeUpserts(from: statement, fieldCount: Int32(object.fields.count), to: stream)
    }

    /// Writes the records of `object` tracked in `table` that changed after `version`: upserts, then deletes.
    /// - Parameter keysTable: a table whose `key` column lists the only keys to look at.
    func writeChanges(
        of object: ObjectSchema, tracked table: String, after version: Int64, to stream: RecordStream,
        amongKeys keysTable: String? = nil
    ) throws {
        let key = quoteIdentifier(object.primaryKey)
        let columns = object.fields.map { "t." + quoteIdentifier($0.name) }.joined(separator: ", ")
        // CROSS JOIN keeps SQLite to the keys' order of loops: one lookup per listed key,
        // not a pass over every tracking row.
        let tracked =
            keysTable.map { "\($0) AS c CROSS JOIN main.\(table) AS s ON s.key = c.key" } ?? "main.\(table) AS s"
        let changed = try connection.prepare(
            """
            SELECT \(columns) FROM \(tracked) JOIN org.\(quoteIdentifier(object.name)) AS t ON t.\(key) = s.key
            WHERE s.version > ? AND s.hash IS NOT NULL
            """)
        try changed.bind([.integer(version)])
        try Self.writeUpserts(from: changed, fieldCount: Int32(object.fields.count), to: stream)
        let deleted = try connection.prepare("SELECT s.key FROM \(tracked) WHERE s.version > ? AND s.hash IS NULL")
        try deleted.bind([.integer(version)])
        while try deleted.step() {
            stream.segment.append(RecordCodec.Operation.delete.rawValue)
            RecordCodec.appendColumn(deleted, 0, to: &stream.segment)
            try stream.endRecord()
        }
    }

    private static func writeUpserts(from statement: Statement, fieldCount: Int32, to stream: RecordStream) throws {
        while try statement.step() {
            stream.segment.append(RecordCodec.Operation.upsert.rawValue)
            for column in 0..<fieldCount { RecordCodec.appendColumn(statement, column, to: &stream.segment) }
            try stream.endRecord()
        }
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
/// bytes of the SHA-256 of the record's values as a bundle encodes them (so a
/// change of storage class counts as a change).
final class RowHasher {
    static let byteCount = 16
    private var encoded = ByteWriter(capacity: 4096)
    private let digest = UnsafeMutableRawBufferPointer.allocate(byteCount: SHA256.byteCount, alignment: 8)

    deinit { digest.deallocate() }

    /// The hash of the values a SQL function call got (`xo_row_hash()`).
    func hash(_ arguments: SQLValueList) -> [UInt8] {
        encoded.removeAll()
        for index in arguments.indices { RecordCodec.appendColumn(arguments, index, to: &encoded) }
        return encoded.bytes.withUnsafeBytes { Array(hash(encodedValues: $0)) }
    }

    /// The hash of values already encoded, valid until the next call.
    @inline(__always)
    func hash(encodedValues: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        SHA256.hash(encodedValues, into: digest)
        return UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(digest)[0..<Self.byteCount])
    }
}
