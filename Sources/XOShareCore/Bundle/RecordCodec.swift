/// The encoding of records inside data entries.
///
/// A record is an operation byte then values: `upsert` is followed by one
/// value per field in manifest order, `delete` by the primary key alone. A
/// value is a tag byte then its bytes, keeping SQLite's storage class exactly.
public enum RecordCodec {
    public enum Operation: UInt8, Sendable {
        case upsert = 1
        case delete = 2
    }

    enum Tag: UInt8 {
        case null = 0
        /// Zig-zag LEB128.
        case integer = 1
        /// The IEEE 754 bits, little-endian.
        case real = 2
        /// LEB128 byte count, then UTF-8 bytes as SQLite stored them.
        case text = 3
        /// LEB128 byte count, then the bytes.
        case blob = 4
    }

    /// Appends value `index` of a statement's current row or of a function's arguments.
    @inline(__always)
    static func appendColumn<Source: SQLValueSource>(_ statement: Source, _ index: Int32, to writer: inout ByteWriter) {
        switch statement.type(at: index) {
        case .null:
            writer.append(Tag.null.rawValue)
        case .integer:
            writer.append(Tag.integer.rawValue)
            writer.appendSignedVarint(statement.int64(at: index))
        case .real:
            writer.append(Tag.real.rawValue)
            writer.appendLittleEndian(statement.double(at: index).bitPattern)
        case .text:
            let bytes = statement.textBytes(at: index)
            writer.append(Tag.text.rawValue)
            writer.appendVarint(UInt64(bytes.count))
            writer.append(bytes)
        case .blob:
            let bytes = statement.blobBytes(at: index)
            writer.append(Tag.blob.rawValue)
            writer.appendVarint(UInt64(bytes.count))
            writer.append(bytes)
        }
    }

    /// Appends one value (used by tests and small writers).
    public static func append(_ value: SQLValue, to writer: inout ByteWriter) {
        switch value {
        case .null: writer.append(Tag.null.rawValue)
        case .integer(let number):
            writer.append(Tag.integer.rawValue)
            writer.appendSignedVarint(number)
        case .real(let number):
            writer.append(Tag.real.rawValue)
            writer.appendLittleEndian(number.bitPattern)
        case .text(let bytes):
            writer.append(Tag.text.rawValue)
            writer.appendVarint(UInt64(bytes.count))
            writer.append(bytes)
        case .blob(let bytes):
            writer.append(Tag.blob.rawValue)
            writer.appendVarint(UInt64(bytes.count))
            writer.append(bytes)
        }
    }

    /// Whether the next value is NULL, without reading it.
    @inline(__always)
    static func nextValueIsNull(_ reader: ByteReader) throws -> Bool {
        try reader.peekByte() == Tag.null.rawValue
    }

    /// Reads one value and binds it to parameter `index` without copying it first.
    @inline(__always)
    static func bindNextValue(from reader: inout ByteReader, to statement: Statement, at index: Int32) throws {
        guard let tag = Tag(rawValue: try reader.readByte()) else {
            throw reader.malformed("a value has an unknown type")
        }
        switch tag {
        case .null: try statement.bindNull(at: index)
        case .integer: try statement.bind(try reader.readSignedVarint(), at: index)
        case .real: try statement.bind(Double(bitPattern: try reader.readLittleEndianUInt64()), at: index)
        case .text: try statement.bindText(try reader.readBytes(Int(clamping: try reader.readVarint())), at: index)
        case .blob: try statement.bindBlob(try reader.readBytes(Int(clamping: try reader.readVarint())), at: index)
        }
    }

    /// Reads one value into an `SQLValue`.
    public static func readValue(from reader: inout ByteReader) throws -> SQLValue {
        guard let tag = Tag(rawValue: try reader.readByte()) else {
            throw reader.malformed("a value has an unknown type")
        }
        switch tag {
        case .null: return .null
        case .integer: return .integer(try reader.readSignedVarint())
        case .real: return .real(Double(bitPattern: try reader.readLittleEndianUInt64()))
        case .text: return .text(Array(try reader.readBytes(Int(clamping: try reader.readVarint()))))
        case .blob: return .blob(Array(try reader.readBytes(Int(clamping: try reader.readVarint()))))
        }
    }
}
