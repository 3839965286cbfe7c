/// Appends fixed-width and variable-length integers and byte strings to a buffer.
public struct ByteWriter {
    public var bytes: [UInt8] = []

    public init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    @inline(__always) public mutating func append(_ byte: UInt8) { bytes.append(byte) }

    @inline(__always) public mutating func append(_ data: UnsafeRawBufferPointer) { bytes.append(contentsOf: data) }

    public mutating func append(_ data: [UInt8]) { bytes.append(contentsOf: data) }

    /// Big-endian fixed width, as used in the bundle header.
    public mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
    }

    /// Unsigned LEB128.
    @inline(__always) public mutating func appendVarint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    /// Zig-zag then LEB128, so small negative numbers stay short.
    @inline(__always) public mutating func appendSignedVarint(_ value: Int64) {
        appendVarint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    @inline(__always) public mutating func appendLittleEndian(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    public mutating func removeAll() { bytes.removeAll(keepingCapacity: true) }

    /// Each string's UTF-8 bytes preceded by their count as a varint: an unambiguous
    /// encoding of a list of fields, for what is signed or authenticated.
    public static func lengthPrefixed(_ fields: [String]) -> [UInt8] {
        var writer = ByteWriter()
        for field in fields {
            let bytes = Array(field.utf8)
            writer.appendVarint(UInt64(bytes.count))
            writer.append(bytes)
        }
        return writer.bytes
    }
}

/// Reads what `ByteWriter` wrote from a borrowed buffer, refusing to read past its end.
public struct ByteReader {
    public let buffer: UnsafeRawBufferPointer
    public private(set) var offset = 0

    /// The error thrown when the data ends early or is malformed.
    let malformed: @Sendable (String) -> any Error

    public init(_ buffer: UnsafeRawBufferPointer, malformed: @escaping @Sendable (String) -> any Error) {
        self.buffer = buffer
        self.malformed = malformed
    }

    public var isAtEnd: Bool { offset >= buffer.count }
    public var remaining: Int { buffer.count - offset }

    @inline(__always) public mutating func readByte() throws -> UInt8 {
        guard offset < buffer.count else { throw malformed("data ends in the middle of a value") }
        defer { offset += 1 }
        return buffer[offset]
    }

    /// The next byte, without moving past it.
    @inline(__always) public func peekByte() throws -> UInt8 {
        guard offset < buffer.count else { throw malformed("data ends in the middle of a value") }
        return buffer[offset]
    }

    @inline(__always) public mutating func readBytes(_ count: Int) throws -> UnsafeRawBufferPointer {
        guard count >= 0, count <= remaining else { throw malformed("a length runs past the end of the data") }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: buffer[offset..<offset + count])
    }

    public mutating func readBigEndian<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let raw = try readBytes(MemoryLayout<T>.size)
        var value: T = 0
        for byte in raw { value = (value << 8) | T(byte) }
        return value
    }

    @inline(__always) public mutating func readVarint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try readByte()
            if shift == 63 && byte > 1 { throw malformed("a number is too large") }
            result |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
            if shift > 63 { throw malformed("a number is too large") }
        }
    }

    @inline(__always) public mutating func readSignedVarint() throws -> Int64 {
        let raw = try readVarint()
        return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    @inline(__always) public mutating func readLittleEndianUInt64() throws -> UInt64 {
        let raw = try readBytes(8)
        return UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self))
    }
}
