import Foundation

/// One pass over a shared object and its tracking table, side by side in key
/// order, as a merge: no lookup per record, in either table.
///
/// Two stages, on two threads when `pipelined`:
/// - reading (the calling thread, on the export's connection): steps through
///   the object's records, encoding each once as bundles carry it, into a
///   `ScanBatch`; and writes the tracking rows the merging stage asks for,
///   64 to a statement (`TrackingRowWriter`);
/// - merging (`ScanMerge`, with its own read-only connection to the state
///   database): steps through the tracking table, hashes each record (first
///   16 bytes of the SHA-256 of its encoding), compares it with the tracked
///   hash, hands every record to the `complete` stream and the new and
///   changed ones and the deletions to the `changes` stream, and asks for new
///   tracking rows.
///
/// The merging stage's connection sees the state database as last committed,
/// which is what it must read: this run has not written to that tracking table.
/// It can read only while the export's transaction has not had to write its
/// changes to the file (a cache spill, which locks readers out), so the caller
/// scans existing tracking tables before writing much (`ChangeTracker.update`).
///
/// Tracking rows go straight into a tracking table made in this run (nothing
/// reads it); for an existing one they go to the temporary table
/// `stagingTable`, for the caller to apply once every object is scanned.
///
/// The pass relies on both sides coming in the order `KeyOrder` describes,
/// SQLite's own for BINARY collation. It checks that as it goes and throws
/// `CannotMerge` otherwise, or when the tracking table cannot be read on the
/// second connection, having changed nothing that a slower pass cannot redo.
struct ObjectScan {
    enum CannotMerge: Error {
        /// SQLite ordered the keys in a way the scan does not (a collation other than
        /// BINARY, a UTF-16 database).
        case keysOutOfOrder
        /// The tracking table could not be read on a connection of its own.
        case trackingTableUnreadable(any Error)
    }

    let connection: Database
    let object: ObjectSchema
    let table: String
    let version: Int64
    /// A tracking table made in this run: it is empty, so it is written directly.
    let isNewTable: Bool
    /// The temporary table that receives the tracking rows of an existing tracking table.
    let stagingTable: String
    /// Whether the merging stage runs on its own thread.
    var pipelined = true

    /// Records read into one batch, at most.
    static let batchRecords = 2048
    /// Bytes of records read into one batch, about.
    static let batchBytes = 256 << 10

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
        let writer: TrackingRowWriter
        if isNewTable {
            writer = try TrackingRowWriter(connection: connection, table: "main.\(table)", version: version)
        } else {
            try connection.execute(
                """
                DROP TABLE IF EXISTS temp.\(stagingTable);
                CREATE TEMP TABLE \(stagingTable) (key, hash BLOB, version INTEGER NOT NULL);
                """)
            writer = try TrackingRowWriter(connection: connection, table: "temp.\(stagingTable)", version: version)
        }
        let tracked: Statement?
        do {
            tracked = isNewTable ? nil : try TrackedRows.open(statePath: connection.path, table: table)
        } catch {
            throw CannotMerge.trackingTableUnreadable(error)
        }
        let merge = ScanMerge(tracked: tracked, complete: complete, changes: changes)
        let stage = pipelined ? ScanStage() : nil
        var free = (0..<3).map { _ in ScanBatch() }
        var atMerge = 0
        var failure: (any Error)?
        /// Writes what the merging stage asked of a batch; keeps its first failure.
        func takeBack(_ batch: ScanBatch) {
            do {
                if let error = batch.failure { throw error }
                try writer.add(staged: batch)
            } catch {
                if failure == nil { failure = error }
            }
            free.append(batch)
        }

        let values = UnsafeMutablePointer<OpaquePointer?>.allocate(capacity: Int(fieldCount))
        defer { values.deallocate() }
        var hasRow = try rows.step()
        var isDone = false
        do {
            while !isDone && failure == nil {
                if free.isEmpty, let stage {
                    takeBack(stage.nextMerged())
                    atMerge -= 1
                    continue
                }
                let batch = free.removeLast()
                batch.clear()
                // The buffers are filled as local variables: a class's stored property
                // mutated in place pays a run-time exclusivity check on every access.
                var records = ByteWriter()
                var recordEnds: [Int] = []
                var keyStarts: [Int] = []
                swap(&records, &batch.records)
                swap(&recordEnds, &batch.recordEnds)
                swap(&keyStarts, &batch.keyStarts)
                // The object's next records, each encoded once.
                while hasRow && recordEnds.count < Self.batchRecords && records.bytes.count < Self.batchBytes {
                    records.append(RecordCodec.Operation.upsert.rawValue)
                    let row = rows.rowValues(count: fieldCount, storage: values)
                    for column in 0..<fieldCount {
                        if column == keyColumn { keyStarts.append(records.bytes.count) }
                        RecordCodec.appendColumn(row, column, to: &records)
                    }
                    recordEnds.append(records.bytes.count)
                    hasRow = try rows.step()
                }
                swap(&records, &batch.records)
                swap(&recordEnds, &batch.recordEnds)
                swap(&keyStarts, &batch.keyStarts)
                batch.isLast = !hasRow
                isDone = batch.isLast
                if let stage {
                    stage.merge(batch, with: merge)
                    atMerge += 1
                } else {
                    merge.process(batch)
                    takeBack(batch)
                }
            }
        } catch {
            failure = error
        }
        // Every batch comes back before anything is thrown: the merging stage uses the streams.
        while atMerge > 0, let stage {
            takeBack(stage.nextMerged())
            atMerge -= 1
        }
        merge.finish()
        if let failure { throw failure }
        try writer.flush()
    }

    /// Applies the tracking rows staged by the scan of an existing tracking table.
    static func applyStaged(_ stagingTable: String, to table: String, in connection: Database) throws {
        try connection.execute(
            """
            INSERT OR REPLACE INTO main.\(table) (key, hash, version)
            SELECT key, hash, version FROM temp.\(stagingTable) ORDER BY rowid;
            DROP TABLE temp.\(stagingTable);
            """)
    }
}

/// The tracking rows of an existing tracking table, in key order, read on a
/// read-only connection of their own.
enum TrackedRows {
    static func open(statePath: String, table: String) throws -> Statement {
        // Waiting is pointless: the export holds what would make this connection wait.
        let database = try Database(path: statePath, mode: .readOnly, busyTimeout: 0)
        return try database.prepare("SELECT key, hash FROM main.\(table) ORDER BY key")
    }
}

/// Records of one key range, on their way from the reading stage to the
/// merging stage and back.
final class ScanBatch {
    /// Encoded records (an operation byte, then the values).
    var records = ByteWriter(capacity: ObjectScan.batchBytes + (64 << 10))
    /// Where each record ends, and where its key value starts.
    var recordEnds: [Int] = []
    var keyStarts: [Int] = []
    /// Whether this batch holds the last records: the merge then takes every remaining tracking row.
    var isLast = false
    /// Set by the merging stage: tracking rows to write (the key, then a hash marker).
    var staged = ByteWriter(capacity: 64 << 10)
    var failure: (any Error)?

    enum HashMarker: UInt8 {
        /// A tombstone.
        case none = 0
        /// `RowHasher.byteCount` bytes follow.
        case hash = 1
    }

    init() {
        recordEnds.reserveCapacity(ObjectScan.batchRecords)
        keyStarts.reserveCapacity(ObjectScan.batchRecords)
    }

    func clear() {
        records.removeAll()
        recordEnds.removeAll(keepingCapacity: true)
        keyStarts.removeAll(keepingCapacity: true)
        staged.removeAll()
        isLast = false
        failure = nil
    }
}

/// The merging stage: compares each record of a batch with its tracking row,
/// read from its own statement. Batches come in key order; it keeps the last
/// keys to check that order.
final class ScanMerge {
    private var tracked: Statement?
    private var hasTracked: Bool?
    private let complete: RecordStream?
    private let changes: RecordStream?
    private let hasher = RowHasher()
    private var lastRecordKey = KeyOrder.Holder()
    private var lastTrackedKey = KeyOrder.Holder()
    private let trackedValues = UnsafeMutablePointer<OpaquePointer?>.allocate(capacity: 2)

    init(tracked: Statement?, complete: RecordStream?, changes: RecordStream?) {
        self.tracked = tracked
        self.complete = complete
        self.changes = changes
    }

    deinit { trackedValues.deallocate() }

    /// Lets go of the tracking table's connection (and its read lock).
    func finish() {
        tracked = nil
    }

    func process(_ batch: ScanBatch) {
        var staged = ByteWriter()
        swap(&staged, &batch.staged)
        defer { swap(&staged, &batch.staged) }
        do {
            try batch.records.bytes.withUnsafeBytes { records in
                try merge(batch, records: records, staged: &staged)
            }
        } catch {
            batch.failure = error
        }
    }

    /// Steps the tracking table to its next row, checking the order; false at its end.
    private func stepTracked() throws -> Bool {
        guard let tracked else { return false }
        do {
            guard try tracked.step() else { return false }
        } catch {
            throw ObjectScan.CannotMerge.trackingTableUnreadable(error)
        }
        let key = KeyOrder.Key(tracked, 0)
        guard lastTrackedKey.precedes(key) else { throw ObjectScan.CannotMerge.keysOutOfOrder }
        lastTrackedKey.hold(key)
        return true
    }

    private func merge(_ batch: ScanBatch, records: UnsafeRawBufferPointer, staged: inout ByteWriter) throws {
        if hasTracked == nil { hasTracked = try stepTracked() }
        /// The tracking row the statement is on: its key is gone from the object.
        func vanished(_ row: SQLValueList) throws {
            guard row.type(at: 1) != .null else { return }  // a tombstone already
            RecordCodec.appendColumn(row, 0, to: &staged)
            staged.append(ScanBatch.HashMarker.none.rawValue)
            if let changes {
                changes.segment.append(RecordCodec.Operation.delete.rawValue)
                RecordCodec.appendColumn(row, 0, to: &changes.segment)
                try changes.endRecord()
            }
        }

        var start = 0
        for (end, keyStart) in zip(batch.recordEnds, batch.keyStarts) {
            let record = UnsafeRawBufferPointer(rebasing: records[start..<end])
            start = end
            let (key, keyEnd) = try KeyOrder.Key.decode(records, at: keyStart)
            guard lastRecordKey.precedes(key) else { throw ObjectScan.CannotMerge.keysOutOfOrder }
            lastRecordKey.hold(key)
            var order = 1
            while hasTracked == true, let tracked {
                let row = tracked.rowValues(count: 2, storage: trackedValues)
                order = KeyOrder.compare(KeyOrder.Key(row, 0), key)
                guard order < 0 else { break }
                try vanished(row)
                hasTracked = try stepTracked()
                order = 1
            }
            let hash = hasher.hash(encodedValues: UnsafeRawBufferPointer(rebasing: record[1...]))
            var changed = true
            if order == 0, let tracked {
                let known = tracked.rowValues(count: 2, storage: trackedValues)
                changed = !(known.type(at: 1) == .blob && known.blobBytes(at: 1).elementsEqual(hash))
                hasTracked = try stepTracked()
            }
            if changed {
                staged.append(UnsafeRawBufferPointer(rebasing: records[keyStart..<keyEnd]))
                staged.append(ScanBatch.HashMarker.hash.rawValue)
                staged.append(hash)
            }
            if let complete {
                complete.segment.append(record)
                try complete.endRecord()
            }
            if changed, let changes {
                changes.segment.append(record)
                try changes.endRecord()
            }
        }
        // After the last record, every tracking row left is a key gone from the object.
        while batch.isLast, hasTracked == true, let tracked {
            try vanished(tracked.rowValues(count: 2, storage: trackedValues))
            hasTracked = try stepTracked()
        }
    }
}

/// The thread of the merging stage: batches are merged in the order given and
/// come back, in that order, through `nextMerged()`.
final class ScanStage: @unchecked Sendable {
    private let queue = DispatchQueue(label: "xoshare.scan.merge")
    private let condition = NSCondition()
    private var merged: [ScanBatch] = []

    func merge(_ batch: ScanBatch, with merge: ScanMerge) {
        let job = Unchecked((batch, merge))
        queue.async {
            job.value.1.process(job.value.0)
            self.condition.lock()
            self.merged.append(job.value.0)
            self.condition.signal()
            self.condition.unlock()
        }
    }

    /// The next merged batch, waiting for it if need be.
    func nextMerged() -> ScanBatch {
        condition.lock()
        defer { condition.unlock() }
        while merged.isEmpty { condition.wait() }
        return merged.removeFirst()
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

    /// Adds the tracking rows a merged batch asks for.
    func add(staged batch: ScanBatch) throws {
        try batch.staged.bytes.withUnsafeBytes { staged in
            var reader = ByteReader(staged) {
                XOShareError(
                    .configuration, "The change tracking of this run went wrong (\($0)); nothing was exported.")
            }
            while !reader.isAtEnd {
                let parameter = 2 * pending + 2
                try RecordCodec.bindNextValue(from: &reader, to: statement, at: parameter)
                if try reader.readByte() == ScanBatch.HashMarker.hash.rawValue {
                    try statement.bindBlob(try reader.readBytes(RowHasher.byteCount), at: parameter + 1)
                } else {
                    try statement.bindNull(at: parameter + 1)
                }
                pending += 1
                if pending == Self.batchSize { try flush() }
            }
        }
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
