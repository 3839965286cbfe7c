import Foundation

/// What the spoke writes into the drop directory when it accepts a code: who
/// it is, authenticated with a key derived from the code's secret so that
/// nobody without the code can connect to the hub.
public struct Acceptance: DropDirectoryFile, Equatable {
    public static let formatVersion = 1
    static let keyInfo = Array("xoshare acceptance key v1".utf8)

    public var format: Int
    public var connection: String
    public var spokeOrg: String
    /// The spoke's Ed25519 public key, base64.
    public var spokePublicKey: String
    public var acceptedAt: Int64
    /// HMAC-SHA256 of the other fields, base64.
    public var mac: String

    public init(connection: ConnectionID, spokeOrg: String, spokePublicKey: [UInt8], acceptedAt: Int64, secret: [UInt8])
        throws
    {
        format = Self.formatVersion
        self.connection = connection.description
        self.spokeOrg = spokeOrg
        self.spokePublicKey = base64Encode(spokePublicKey)
        self.acceptedAt = acceptedAt
        mac = ""
        mac = base64Encode(try expectedMAC(secret: secret))
    }

    /// The bytes the MAC covers: each field, length-prefixed, in a fixed order.
    private var authenticatedBytes: [UInt8] {
        ByteWriter.lengthPrefixed(
            ["xoshare-acceptance", String(format), connection, spokeOrg, spokePublicKey, String(acceptedAt)])
    }

    private func expectedMAC(secret: [UInt8]) throws -> [UInt8] {
        guard let id = ConnectionID(hex: connection) else { return [] }
        let key = try hkdfSHA256(secret: secret, salt: [], info: Self.keyInfo + id.bytes, length: 32)
        return try hmacSHA256(key: key, message: authenticatedBytes)
    }

    /// Whether the MAC was made with `secret`.
    public func isAuthentic(secret: [UInt8]) throws -> Bool {
        guard let given = base64Decode(mac) else { return false }
        return constantTimeEqual(given, try expectedMAC(secret: secret))
    }

    public var spokePublicKeyBytes: [UInt8]? {
        guard let bytes = base64Decode(spokePublicKey), bytes.count == 32 else { return nil }
        return bytes
    }
}
