/// One SQLite value with its storage class.
public enum SQLValue: Sendable, Hashable, CustomStringConvertible {
    case null
    case integer(Int64)
    case real(Double)
    /// UTF-8 text, kept as the exact bytes SQLite stored.
    case text([UInt8])
    case blob([UInt8])

    public static func string(_ string: String) -> SQLValue { .text(Array(string.utf8)) }

    /// The storage class as SQLite names it in `typeof()`.
    public var storageClass: String {
        switch self {
        case .null: "null"
        case .integer: "integer"
        case .real: "real"
        case .text: "text"
        case .blob: "blob"
        }
    }

    /// Equality that compares reals bit for bit (so -0.0 differs from 0.0).
    public func isIdentical(to other: SQLValue) -> Bool {
        switch (self, other) {
        case (.real(let a), .real(let b)): a.bitPattern == b.bitPattern
        default: self == other
        }
    }

    public var description: String {
        switch self {
        case .null: "NULL"
        case .integer(let value): String(value)
        case .real(let value): String(value)
        case .text(let bytes): String(decoding: bytes, as: UTF8.self)
        case .blob(let bytes): "x'" + bytes.hexString + "'"
        }
    }
}

extension Sequence<UInt8> {
    /// Lower-case hexadecimal, two digits a byte.
    public var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
