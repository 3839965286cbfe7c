/// Crockford's base32: digits and upper-case letters without I, L, O and U, so
/// a code read aloud or retyped has no look-alike characters. Decoding accepts
/// lower case, reads I and L as 1 and O as 0, and skips dashes and spaces.
public enum CrockfordBase32 {
    static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for byte in bytes {
            buffer = (buffer << 8) | UInt32(byte)
            bits += 8
            while bits >= 5 {
                bits -= 5
                out.append(alphabet[Int((buffer >> UInt32(bits)) & 31)])
            }
        }
        if bits > 0 { out.append(alphabet[Int((buffer << UInt32(5 - bits)) & 31)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// The value of one character, or nil for a character outside the alphabet.
    static func value(of character: UInt8) -> UInt32? {
        switch character {
        case UInt8(ascii: "0"), UInt8(ascii: "o"), UInt8(ascii: "O"): return 0
        case UInt8(ascii: "1"), UInt8(ascii: "i"), UInt8(ascii: "I"), UInt8(ascii: "l"), UInt8(ascii: "L"): return 1
        case UInt8(ascii: "2")...UInt8(ascii: "9"): return UInt32(character - UInt8(ascii: "0"))
        default:
            let upper = character >= UInt8(ascii: "a") && character <= UInt8(ascii: "z") ? character - 32 : character
            guard let index = alphabet.firstIndex(of: upper) else { return nil }
            return UInt32(index)
        }
    }

    /// Decodes a code, ignoring dashes and white space.
    ///
    /// - Throws: `XOShareError` (bad data) naming the first character that is not in the alphabet.
    public static func decode(_ text: String) throws -> [UInt8] {
        var out: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for character in text.utf8 {
            if character == UInt8(ascii: "-") || character == UInt8(ascii: " ") || character == UInt8(ascii: "\n")
                || character == UInt8(ascii: "\t") || character == UInt8(ascii: "\r")
            {
                continue
            }
            guard let value = value(of: character) else {
                throw XOShareError.badData(
                    "The invitation code contains the character '\(Character(Unicode.Scalar(character)))', which no code has; check that it was copied whole and exactly."
                )
            }
            buffer = (buffer << 5) | value
            bits += 5
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((buffer >> UInt32(bits)) & 0xff))
            }
        }
        // What `encode` writes ends with fewer than five spare bits, all zero;
        // anything else is a typo in the last character or an extra one.
        guard bits < 5, buffer & ((1 << UInt32(bits)) - 1) == 0 else {
            throw XOShareError.badData(
                "The invitation code is mistyped or incomplete (its last characters do not fit); copy it again from the hub."
            )
        }
        return out
    }
}

/// Standard base64 with padding (RFC 4648).
public func base64Encode(_ bytes: [UInt8]) -> String {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    var out: [UInt8] = []
    out.reserveCapacity((bytes.count + 2) / 3 * 4)
    var index = 0
    while index < bytes.count {
        let b0 = UInt32(bytes[index])
        let b1 = index + 1 < bytes.count ? UInt32(bytes[index + 1]) : 0
        let b2 = index + 2 < bytes.count ? UInt32(bytes[index + 2]) : 0
        let triple = (b0 << 16) | (b1 << 8) | b2
        out.append(alphabet[Int((triple >> 18) & 63)])
        out.append(alphabet[Int((triple >> 12) & 63)])
        out.append(index + 1 < bytes.count ? alphabet[Int((triple >> 6) & 63)] : UInt8(ascii: "="))
        out.append(index + 2 < bytes.count ? alphabet[Int(triple & 63)] : UInt8(ascii: "="))
        index += 3
    }
    return String(decoding: out, as: UTF8.self)
}

/// Decodes standard base64; nil for anything malformed.
public func base64Decode(_ text: String) -> [UInt8]? {
    var values: [UInt8] = []
    var padding = 0
    for character in text.utf8 {
        let value: UInt8
        switch character {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = character - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): value = character - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): value = character - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): value = 62
        case UInt8(ascii: "/"): value = 63
        case UInt8(ascii: "="):
            padding += 1
            continue
        default: return nil
        }
        if padding > 0 { return nil }
        values.append(value)
    }
    guard (values.count + padding) % 4 == 0, padding <= 2 else { return nil }
    var out: [UInt8] = []
    var buffer: UInt32 = 0
    var bits = 0
    for value in values {
        buffer = (buffer << 6) | UInt32(value)
        bits += 6
        if bits >= 8 {
            bits -= 8
            out.append(UInt8((buffer >> UInt32(bits)) & 0xff))
        }
    }
    return out
}
