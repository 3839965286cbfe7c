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
/// attached read-only as `org` to the same connection, so one scan joins both.
struct ChangeTracker {
    let connection: Database

    /// What the scan found, for the connections to pick their changes from.
    struct Update {
        var version: Int64
        /// For each object, the version at which its tracking last started over.
        var resetVersions: [String: Int64]
    }

    /// Records the current state of every shared object under a new version.
    func update(objects: [ObjectSchema]) throws -> Update {
        let state = StateStore(connection: connection)
        let version = (Int64(try state.setting("tracking_version") ?? "0") ?? 0) + 1
        var resets: [String: Int64] = [:]
        for object in objects {
            resets[object.name] = try resetIfChanged(object, version: version)
            try recordChanges(of: object, version: version)
        }
        let names = objects.map { SQLValue.string($0.name) }
        let placeholders = Array(repeating: "?", count: names.count).joined(separator: ", ")
        try connection.run("DELETE FROM main.tracked_row WHERE object NOT IN (\(placeholders))", names)
        try connection.run("DELETE FROM main.tracked_object WHERE object NOT IN (\(placeholders))", names)
        try state.setSetting("tracking_version", String(version))
        return Update(version: version, resetVersions: resets)
    }

    /// The hash of an object's shape: its name, key, fields and their types.
    static func schemaHash(_ object: ObjectSchema) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return SHA256.hash(Array(try encoder.encode(object)))
    }

    private func resetIfChanged(_ object: ObjectSchema, version: Int64) throws -> Int64 {
        let hash = try Self.schemaHash(object)
        let known = try connection.rows(
            "SELECT schema_hash, reset_version FROM main.tracked_object WHERE object = ?", [.string(object.name)]
        ).first
        if let known, known[0] == .blob(hash), let reset = known[1].integer { return reset }
        try connection.run("DELETE FROM main.tracked_row WHERE object = ?", [.string(object.name)])
        try connection.run(
            """
            INSERT INTO main.tracked_object(object, schema_hash, reset_version) VALUES (?, ?, ?)
            ON CONFLICT(object) DO UPDATE SET schema_hash = excluded.schema_hash, reset_version = excluded.reset_version
            """, [.string(object.name), .blob(hash), .integer(version)])
        return version
    }

    /// Scans one object, giving the new version to each record whose hash changed, and
    /// a tombstone to each record that is gone.
    private func recordChanges(of object: ObjectSchema, version: Int64) throws {
        let table = "org." + quoteIdentifier(object.name)
        let key = quoteIdentifier(object.primaryKey)
        let columns = object.fields.map { "t." + quoteIdentifier($0.name) }.joined(separator: ", ")
        let scan = try connection.prepare(
            """
            SELECT \(columns), s.hash FROM \(table) AS t
            LEFT JOIN main.tracked_row AS s ON s.object = ?1 AND s.key = t.\(key)
            WHERE t.\(key) IS NOT NULL
            """)
        try scan.bind(.string(object.name), at: 1)
        let record = try connection.prepare(
            """
            INSERT INTO main.tracked_row(object, key, hash, version) VALUES (?1, ?2, ?3, ?4)
            ON CONFLICT(object, key) DO UPDATE SET hash = excluded.hash, version = excluded.version
            """)
        try record.bind(.string(object.name), at: 1)
        try record.bind(version, at: 4)
        let fieldCount = Int32(object.fields.count)
        let keyColumn = Int32(object.fields.firstIndex { $0.name == object.primaryKey } ?? 0)
        var encoded = ByteWriter(capacity: 4096)
        while try scan.step() {
            encoded.removeAll()
            for column in 0..<fieldCount { RecordCodec.appendColumn(scan, column, to: &encoded) }
            let hash = encoded.bytes.withUnsafeBytes { RowHash.of($0) }
            let known = scan.blobBytes(at: fieldCount)
            if known.count == RowHash.byteCount && known.elementsEqual(hash) { continue }
            try record.bind(columnOf: scan, at: keyColumn, to: 2)
            try hash.withUnsafeBytes { try record.bindBlob($0, at: 3) }
            _ = try record.step()
            record.rewind()
        }
        try connection.run(
            """
            UPDATE main.tracked_row SET hash = NULL, version = ?1
            WHERE object = ?2 AND hash IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM \(table) AS t WHERE t.\(key) = main.tracked_row.key)
            """, [.integer(version), .string(object.name)])
    }

    /// Whether any record of `object` changed after `version`.
    func hasChanges(in object: String, after version: Int64) throws -> Bool {
        try !connection.rows(
            "SELECT 1 FROM main.tracked_row WHERE object = ? AND version > ? LIMIT 1",
            [.string(object), .integer(version)]
        ).isEmpty
    }

    /// Forgets the tombstones every connection has already been sent.
    func discardTombstones(seenBy versions: [Int64]) throws {
        let oldest = versions.min() ?? Int64.max
        try connection.run("DELETE FROM main.tracked_row WHERE hash IS NULL AND version <= ?", [.integer(oldest)])
    }
}

/// The hash that tells whether a record's shared fields changed: the first 16
/// bytes of the SHA-256 of the record as a bundle encodes it (so a change of
/// storage class counts as a change).
enum RowHash {
    static let byteCount = 16

    static func of(_ encoded: UnsafeRawBufferPointer) -> [UInt8] {
        let hasher = SHA256()
        hasher.update(encoded)
        return Array(hasher.finalize().prefix(byteCount))
    }
}
