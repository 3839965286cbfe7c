import Foundation

/// What an invitation code carries from the hub to the spoke, out of band.
///
/// The code holds the connection id, the hub's org name and Ed25519 public key
/// (which the spoke pins), a 128-bit secret from which the bundle keys and the
/// acceptance key are derived, and the code's expiry. A 4-byte SHA-256
/// checksum catches a mistyped or truncated code before anything else is read.
public struct InvitationCode: Sendable, Equatable {
    public static let prefix = "XO1"
    static let version: UInt8 = 1
    static let secretCount = 16
    static let maximumOrgNameBytes = 64

    public var connectionID: ConnectionID
    public var hubOrgName: String
    public var hubPublicKey: [UInt8]
    public var secret: [UInt8]
    /// Seconds since 1970; the hub refuses acceptances after this time.
    public var expiresAt: Int64

    public init(
        connectionID: ConnectionID, hubOrgName: String, hubPublicKey: [UInt8], secret: [UInt8], expiresAt: Int64
    ) {
        self.connectionID = connectionID
        self.hubOrgName = hubOrgName
        self.hubPublicKey = hubPublicKey
        self.secret = secret
        self.expiresAt = expiresAt
    }

    public var hubFingerprint: String { keyFingerprint(hubPublicKey) }

    /// The code as a person copies it: `XO1-` then groups of five characters.
    public var text: String {
        var writer = ByteWriter()
        writer.append(Self.version)
        writer.append(connectionID.bytes)
        writer.append(hubPublicKey)
        writer.append(secret)
        writer.appendBigEndian(UInt32(clamping: expiresAt))
        let name = Array(hubOrgName.utf8.prefix(Self.maximumOrgNameBytes))
        writer.append(UInt8(name.count))
        writer.append(name)
        writer.append(Array(SHA256.hash(writer.bytes).prefix(4)))
        let body = CrockfordBase32.encode(writer.bytes)
        var groups: [Substring] = []
        var rest = Substring(body)
        while !rest.isEmpty {
            groups.append(rest.prefix(5))
            rest = rest.dropFirst(5)
        }
        return Self.prefix + "-" + groups.joined(separator: "-")
    }

    /// Reads a code typed or pasted by a person.
    ///
    /// - Throws: `XOShareError` (bad data) saying whether the text is not a code
    ///   at all, or a code that was mistyped or cut short.
    public init(parsing text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        // The prefix is read as forgivingly as the rest: "X01-" and "xo1-" are "XO1-".
        let head = Array(trimmed.prefix(4).uppercased())
        let forgiven = head.enumerated().map { index, character -> Character in
            switch (index, character) {
            case (1, "0"): "O"
            case (2, "I"), (2, "L"): "1"
            default: character
            }
        }
        guard String(forgiven) == Self.prefix + "-" else {
            throw XOShareError.badData(
                "This is not an xoshare invitation code: codes start with \(Self.prefix)-; copy the whole code the hub gave you."
            )
        }
        let bytes = try CrockfordBase32.decode(String(trimmed.dropFirst(Self.prefix.count + 1)))
        let incomplete = XOShareError.badData(
            "The invitation code is mistyped or incomplete (its checksum does not match); copy it again from the hub, or ask the hub for a new one."
        )
        let fixedCount = 1 + ConnectionID.byteCount + 32 + Self.secretCount + 4 + 1
        guard bytes.count >= fixedCount + 4 else { throw incomplete }
        let body = Array(bytes[..<(bytes.count - 4)])
        guard Array(SHA256.hash(body).prefix(4)) == Array(bytes.suffix(4)) else { throw incomplete }
        let parsed: InvitationCode = try body.withUnsafeBytes { raw in
            var reader = ByteReader(raw, malformed: { _ in incomplete })
            guard try reader.readByte() == Self.version else {
                throw XOShareError.badData(
                    "The invitation code was made by a newer version of xoshare; upgrade xoshare to accept it.")
            }
            let connection = ConnectionID(bytes: Array(try reader.readBytes(ConnectionID.byteCount)))
            let key = Array(try reader.readBytes(32))
            let secret = Array(try reader.readBytes(Self.secretCount))
            let expires = Int64(try reader.readBigEndian(UInt32.self))
            let nameCount = Int(try reader.readByte())
            let name = String(decoding: try reader.readBytes(nameCount), as: UTF8.self)
            guard reader.isAtEnd else { throw incomplete }
            return InvitationCode(
                connectionID: connection, hubOrgName: name, hubPublicKey: key, secret: secret, expiresAt: expires)
        }
        self = parsed
    }
}

/// The identifier of one hub-to-spoke connection: 8 random bytes, shown as 16 hex digits.
public struct ConnectionID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public static let byteCount = 8
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) {
        precondition(bytes.count == Self.byteCount)
        self.bytes = bytes
    }

    public init?(hex: String) {
        let characters = Array(hex.utf8)
        guard characters.count == Self.byteCount * 2 else { return nil }
        var bytes: [UInt8] = []
        for index in stride(from: 0, to: characters.count, by: 2) {
            guard let value = UInt8(String(decoding: characters[index..<index + 2], as: UTF8.self), radix: 16) else {
                return nil
            }
            bytes.append(value)
        }
        guard hex == bytes.hexString else { return nil }
        self.bytes = bytes
    }

    public static func random() throws -> ConnectionID { ConnectionID(bytes: try randomBytes(byteCount)) }

    public var description: String { bytes.hexString }

    public static func < (lhs: ConnectionID, rhs: ConnectionID) -> Bool {
        lhs.bytes.lexicographicallyPrecedes(rhs.bytes)
    }
}
