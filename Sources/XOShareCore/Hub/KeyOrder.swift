import Foundation

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
        init<Source: SQLValueSource>(_ statement: Source, _ column: Int32) {
            type = statement.type(at: column)
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

        /// The key encoded as a record value (`RecordCodec`) at `offset` of `buffer`, and where it ends.
        @inline(__always)
        static func decode(_ buffer: UnsafeRawBufferPointer, at offset: Int) throws -> (key: Key, end: Int) {
            var reader = ByteReader(UnsafeRawBufferPointer(rebasing: buffer[offset...])) { _ in
                ObjectScan.CannotMerge.keysOutOfOrder
            }
            let key: Key
            switch RecordCodec.Tag(rawValue: try reader.readByte()) {
            case .integer:
                key = Key(
                    type: .integer, integer: try reader.readSignedVarint(), real: 0, bytes: .init(start: nil, count: 0))
            case .real:
                key = Key(
                    type: .real, integer: 0, real: Double(bitPattern: try reader.readLittleEndianUInt64()),
                    bytes: .init(start: nil, count: 0))
            case .text:
                let bytes = try reader.readBytes(Int(clamping: try reader.readVarint()))
                key = Key(type: .text, integer: 0, real: 0, bytes: bytes)
            case .blob:
                let bytes = try reader.readBytes(Int(clamping: try reader.readVarint()))
                key = Key(type: .blob, integer: 0, real: 0, bytes: bytes)
            case .null, nil:
                key = Key(type: .null, integer: 0, real: 0, bytes: .init(start: nil, count: 0))
            }
            return (key, offset + reader.offset)
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
