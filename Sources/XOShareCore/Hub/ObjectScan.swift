import Foundation

/// One pass over a shared object and its tracking table, side by side in key
/// order, as a merge: no lookup per record, in either table.
///
/// Each record is encoded once, as bundles carry it; the hash of that encoding
/// is compared with the tracked one. Every record goes to the `complete`
/// stream, the new and changed ones and the deletions to the `changes` stream.
/// The tracking rows to write are staged in a temporary table while the
/// tracking table is being read, and applied after the pass.
///
/// The pass relies on both sides coming in the order `KeyOrder` describes,
/// SQLite's own for BINARY collation. It checks that as it goes and throws
/// `OutOfOrder.keys` otherwise, having changed nothing in the tracking table
/// that a slower pass cannot redo.
struct ObjectScan {
    enum OutOfOrder: Error { case keys }

    let connection: Database
    let object: ObjectSchema
    let table: String
    let version: Int64
    /// A tracking table made in this run: it is empty, so it is written directly.
    let isNewTable: Bool

    func run(complete: RecordStream?, changes: RecordStream?) throws {
        let fieldCount = Int32(object.fields.count)
        guard let keyIndex = object.fields.firstIndex(where: { $0.name == object.primaryKey }) else {
            preconditionFailure("a shared object's fields include its primary key")
        }
        let keyColumn = Int32(keyIndex)
        let key = quoteIdentifier(object.primaryKey)
        let columns = object.fields.map { quoteIdentifier($0.name) }.joined(separator: ", ")
        let rows = try connection.prepare(
            "SELECT \(columns) FROM org.\(quoteIdentifier(object.name)) WHERE \(key) IS NOT NULL ORDER BY \(key)")
        let tracked = isNewTable ? nil : try connection.prepare("SELECT key, hash FROM main.\(table) ORDER BY key")
        let record: TrackingRowWriter
        if isNewTable {
            record = try TrackingRowWriter(connection: connection, table: "main.\(table)", version: version)
        } else {
            try connection.execute(
                "CREATE TEMP TABLE IF NOT EXISTS xo_tracking_changes (key, hash BLOB, version INTEGER NOT NULL)")
            try connection.execute("DELETE FROM temp.xo_tracking_changes")
            record = try TrackingRowWriter(connection: connection, table: "temp.xo_tracking_changes", version: version)
        }

        let hasher = RowHasher()
        let valueStorage = UnsafeMutablePointer<OpaquePointer?>.allocate(capacity: Int(fieldCount))
        defer { valueStorage.deallocate() }
        var encoded = ByteWriter(capacity: 64 * 1024)
        var lastRowKey = KeyOrder.Holder()
        var lastTrackedKey = KeyOrder.Holder()
        var hasRow = try rows.step()
        var hasTracked = try tracked?.step() ?? false
        while hasRow || hasTracked {
            let order: Int
            if !hasRow {
                order = 1
            } else if let tracked, hasTracked {
                order = KeyOrder.compare(KeyOrder.Key(rows, keyColumn), KeyOrder.Key(tracked, 0))
            } else {
                order = -1
            }
            if order <= 0 {
                // A record of the object: new (order < 0), or tracked already (order == 0).
                let rowKey = KeyOrder.Key(rows, keyColumn)
                guard lastRowKey.precedes(rowKey) else { throw OutOfOrder.keys }
                lastRowKey.hold(rowKey)
                encoded.removeAll()
                encoded.append(RecordCodec.Operation.upsert.rawValue)
                let values = rows.rowValues(count: fieldCount, storage: valueStorage)
                for column in 0..<fieldCount { RecordCodec.appendColumn(values, column, to: &encoded) }
                let changed = try encoded.bytes.withUnsafeBytes { raw in
                    let hash = hasher.hash(encodedValues: UnsafeRawBufferPointer(rebasing: raw[1...]))
                    if order == 0, let tracked, tracked.columnType(at: 1) == .blob,
                        tracked.blobBytes(at: 1).elementsEqual(hash)
                    {
                        return false
                    }
                    try record.add(keyOf: rows, at: keyColumn, hash: hash)
                    return true
                }
                if let complete {
                    complete.segment.append(encoded.bytes)
                    try complete.endRecord()
                }
                if changed, let changes {
                    changes.segment.append(encoded.bytes)
                    try changes.endRecord()
                }
                hasRow = try rows.step()
            }
            if order >= 0, let tracked {
                // A tracked key: seen above (order == 0), or gone from the object (order > 0).
                let trackedKey = KeyOrder.Key(tracked, 0)
                guard lastTrackedKey.precedes(trackedKey) else { throw OutOfOrder.keys }
                lastTrackedKey.hold(trackedKey)
                if order > 0, tracked.columnType(at: 1) != .null {
                    try record.add(keyOf: tracked, at: 0, hash: nil)
                    if let changes {
                        changes.segment.append(RecordCodec.Operation.delete.rawValue)
                        RecordCodec.appendColumn(tracked, 0, to: &changes.segment)
                        try changes.endRecord()
                    }
                }
                hasTracked = try tracked.step()
            }
        }
        try record.flush()
        guard !isNewTable else { return }
        tracked?.rewind()
        try connection.execute(
            """
            INSERT OR REPLACE INTO main.\(table) (key, hash, version)
            SELECT key, hash, version FROM temp.xo_tracking_changes ORDER BY rowid
            """)
        try connection.execute("DELETE FROM temp.xo_tracking_changes")
    }
}

/// Writes tracking rows (key, hash or NULL for a tombstone, version) many to a
/// statement: one INSERT per row would spend more on running the statement
/// than on the row.
final class TrackingRowWriter {
    static let batchSize: Int32 = 64
    private let statement: Statement
    private var pending: Int32 = 0

    init(connection: Database, table: String, version: Int64) throws {
        let slots = (0..<Self.batchSize).map { "(?\(2 * $0 + 2), ?\(2 * $0 + 3))" }.joined(separator: ", ")
        // A slot left unused in the last batch has a NULL key, which no tracked row has.
        statement = try connection.prepare(
            """
            INSERT INTO \(table) (key, hash, version)
            SELECT column1, column2, ?1 FROM (VALUES \(slots)) WHERE column1 IS NOT NULL
            """)
        try statement.bind(version, at: 1)
    }

    /// Adds the row for the key in column `column` of `source`'s current row.
    @inline(__always)
    func add(keyOf source: Statement, at column: Int32, hash: UnsafeRawBufferPointer?) throws {
        let parameter = 2 * pending + 2
        try statement.bind(columnOf: source, at: column, to: parameter)
        if let hash {
            try statement.bindBlob(hash, at: parameter + 1)
        } else {
            try statement.bindNull(at: parameter + 1)
        }
        pending += 1
        if pending == Self.batchSize { try flush() }
    }

    /// Writes the rows added since the last batch.
    func flush() throws {
        guard pending > 0 else { return }
        for slot in pending..<Self.batchSize { try statement.bindNull(at: 2 * slot + 2) }
        _ = try statement.step()
        statement.rewind()
        pending = 0
    }
}

/// SQLite's order of values under the BINARY collation: NULL, then numbers
/// (integers and reals compared by value), then text, then blobs (both
/// byte by byte, a prefix first).
enum KeyOrder {
    /// A key in a statement's current row, valid until the statement steps.
    struct Key {
        var type: Statement.ColumnType
        var integer: Int64 = 0
        var real: Double = 0
        var bytes = UnsafeRawBufferPointer(start: nil, count: 0)

        @inline(__always)
        init(_ statement: Statement, _ column: Int32) {
            type = statement.columnType(at: column)
            switch type {
            case .null: break
            case .integer: integer = statement.int64(at: column)
            case .real: real = statement.double(at: column)
            case .text: bytes = statement.textBytes(at: column)
            case .blob: bytes = statement.blobBytes(at: column)
            }
        }

        init(type: Statement.ColumnType, integer: Int64, real: Double, bytes: UnsafeRawBufferPointer) {
            self.type = type
            self.integer = integer
            self.real = real
            self.bytes = bytes
        }

        var rank: Int {
            switch type {
            case .null: 0
            case .integer, .real: 1
            case .text: 2
            case .blob: 3
            }
        }
    }

    /// A copy of a key that outlives its row, to check that the next one follows it.
    struct Holder {
        private var type: Statement.ColumnType?
        private var integer: Int64 = 0
        private var real: Double = 0
        private var storage: [UInt8] = []

        mutating func hold(_ key: Key) {
            type = key.type
            integer = key.integer
            real = key.real
            if key.type == .text || key.type == .blob {
                storage.removeAll(keepingCapacity: true)
                storage.append(contentsOf: key.bytes)
            }
        }

        /// Whether `key` comes strictly after the held key (always, when none is held yet).
        func precedes(_ key: Key) -> Bool {
            guard let type else { return true }
            return storage.withUnsafeBytes { bytes in
                KeyOrder.compare(Key(type: type, integer: integer, real: real, bytes: bytes), key) < 0
            }
        }
    }

    /// Negative, zero or positive as `a` sorts before, with or after `b`.
    @inline(__always)
    static func compare(_ a: Key, _ b: Key) -> Int {
        if a.type == .integer, b.type == .integer {
            return a.integer < b.integer ? -1 : (a.integer > b.integer ? 1 : 0)
        }
        let (rankA, rankB) = (a.rank, b.rank)
        if rankA != rankB { return rankA < rankB ? -1 : 1 }
        switch rankA {
        case 0:
            return 0
        case 1:
            switch (a.type, b.type) {
            case (.real, .real): return a.real < b.real ? -1 : (a.real > b.real ? 1 : 0)
            case (.integer, _): return compare(integer: a.integer, real: b.real)
            default: return -compare(integer: b.integer, real: a.real)
            }
        default:
            let common = min(a.bytes.count, b.bytes.count)
            if common > 0 {
                let result = memcmp(a.bytes.baseAddress!, b.bytes.baseAddress!, common)
                if result != 0 { return result < 0 ? -1 : 1 }
            }
            return a.bytes.count < b.bytes.count ? -1 : (a.bytes.count > b.bytes.count ? 1 : 0)
        }
    }

    /// An integer against a real, exactly (a Double cannot hold every Int64).
    static func compare(integer: Int64, real: Double) -> Int {
        if real < -9_223_372_036_854_775_808.0 { return 1 }
        if real >= 9_223_372_036_854_775_808.0 { return -1 }
        let truncated = Int64(real)
        if integer < truncated { return -1 }
        if integer > truncated { return 1 }
        let fraction = real - Double(truncated)
        return fraction > 0 ? -1 : (fraction < 0 ? 1 : 0)
    }
}
