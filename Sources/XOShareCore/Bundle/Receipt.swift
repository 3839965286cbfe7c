import Foundation

/// What a spoke writes into the drop directory after a sync: the last bundle of
/// a connection it applied, signed with its own key so that only it can
/// acknowledge, and the hub may then delete the bundles up to it.
public struct Receipt: DropDirectoryFile, Equatable {
    public static let formatVersion = 1

    public var format: Int
    public var connection: String
    public var sequence: Int64
    /// The applied bundle's hash, base64.
    public var bundleHash: String
    public var appliedAt: Int64
    /// Ed25519 signature of the other fields, base64.
    public var signature: String

    public init(
        connection: ConnectionID, sequence: Int64, bundleHash: [UInt8], appliedAt: Int64, signingKey: SigningKey
    )
        throws
    {
        format = Self.formatVersion
        self.connection = connection.description
        self.sequence = sequence
        self.bundleHash = base64Encode(bundleHash)
        self.appliedAt = appliedAt
        signature = ""
        signature = base64Encode(try signingKey.signature(for: signedBytes))
    }

    /// The bytes the signature covers: each field, length-prefixed, in a fixed order.
    private var signedBytes: [UInt8] {
        ByteWriter.lengthPrefixed(
            ["xoshare-receipt", String(format), connection, String(sequence), bundleHash, String(appliedAt)])
    }

    public func isSigned(by publicKey: [UInt8]) -> Bool {
        guard let signature = base64Decode(signature) else { return false }
        return isValidEd25519Signature(signature, of: signedBytes, publicKey: publicKey)
    }

    public var bundleHashBytes: [UInt8]? { base64Decode(bundleHash) }
}
