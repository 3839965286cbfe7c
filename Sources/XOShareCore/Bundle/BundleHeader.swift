/// The fixed-size, signed header at the start of every bundle file.
///
/// Everything the spoke needs to decide whether to trust and apply a bundle is
/// here, and all of it is covered by the hub's Ed25519 signature: the
/// connection, the sequence and the previous bundle's hash, the times, the key
/// derivation salt, and the size and SHA-256 of the encrypted payload that
/// follows. The layout is given in xoshare-bundle(5).
public struct BundleHeader: Sendable, Equatable {
    public static let magic = Array("XOBUNDLE".utf8)
    public static let formatVersion: UInt16 = 1
    /// Bytes covered by the signature.
    public static let signedCount = 224
    public static let signatureCount = 64
    /// Bytes before the payload.
    public static let totalCount = signedCount + signatureCount

    public enum Kind: UInt16, Sendable {
        /// Every shared record: after applying it the spoke holds exactly this data for the hub.
        /// It can be applied after any earlier state, even after a missing bundle.
        case snapshot = 1
        /// The changes since the previous bundle: applied only right after it.
        case delta = 2
        /// The hub ended the connection: the last bundle of the connection.
        case revocation = 3

        public var name: String {
            switch self {
            case .snapshot: "snapshot"
            case .delta: "delta"
            case .revocation: "revocation"
            }
        }

        /// Whether the bundle can follow any earlier state, not only the bundle before it.
        public var standsAlone: Bool { self != .delta }
    }

    public var kind: Kind
    public var connectionID: ConnectionID
    public var hubPublicKey: [UInt8]
    public var sequence: Int64
    public var previousBundleHash: [UInt8]
    public var createdAt: Int64
    public var expiresAt: Int64
    public var salt: [UInt8]
    public var chunkSize: UInt32
    public var chunkCount: UInt64
    public var payloadSize: UInt64
    public var payloadHash: [UInt8]
    /// Bytes of the compressed archive, which the chunks encrypt.
    public var compressedSize: UInt64
    /// Bytes of the archive once decompressed: the reader refuses to produce more.
    public var archiveSize: UInt64

    /// The bytes that are signed: the first `signedCount` bytes of the file.
    public var signedBytes: [UInt8] {
        var writer = ByteWriter(capacity: Self.signedCount)
        writer.append(Self.magic)
        writer.appendBigEndian(Self.formatVersion)
        writer.appendBigEndian(kind.rawValue)
        writer.appendBigEndian(UInt32(Self.totalCount))
        writer.append(connectionID.bytes)
        writer.append(hubPublicKey)
        writer.appendBigEndian(sequence)
        writer.append(previousBundleHash)
        writer.appendBigEndian(createdAt)
        writer.appendBigEndian(expiresAt)
        writer.append(salt)
        writer.appendBigEndian(chunkSize)
        writer.appendBigEndian(chunkCount)
        writer.appendBigEndian(payloadSize)
        writer.append(payloadHash)
        writer.appendBigEndian(compressedSize)
        writer.appendBigEndian(archiveSize)
        writer.append([UInt8](repeating: 0, count: Self.signedCount - writer.bytes.count))
        return writer.bytes
    }

    /// The identity of a bundle: the SHA-256 of its signed header, which commits to its payload.
    public var bundleHash: [UInt8] { SHA256.hash(signedBytes) }

    /// Decodes the signed part of a header. The signature is checked separately.
    ///
    /// - Throws: `XOShareError` (bad data) for anything that is not a version-1 bundle header.
    public init(decoding bytes: [UInt8], name: String) throws {
        let malformed: @Sendable (String) -> any Error = { reason in
            XOShareError.badData("The bundle \(name) is damaged: \(reason).")
        }
        guard bytes.count >= Self.signedCount else { throw malformed("its header is cut short") }
        guard Array(bytes[0..<8]) == Self.magic else {
            throw XOShareError.badData("The file \(name) is not an xoshare bundle (it does not start with XOBUNDLE).")
        }
        self = try bytes.withUnsafeBytes { raw in
            var reader = ByteReader(UnsafeRawBufferPointer(rebasing: raw[8..<Self.signedCount]), malformed: malformed)
            let version = try reader.readBigEndian(UInt16.self)
            guard version == Self.formatVersion else {
                throw XOShareError.badData(
                    "The bundle \(name) uses format version \(version), which this xoshare cannot read; upgrade xoshare."
                )
            }
            guard let kind = Kind(rawValue: try reader.readBigEndian(UInt16.self)) else {
                throw malformed("it is of an unknown kind")
            }
            guard try reader.readBigEndian(UInt32.self) == UInt32(Self.totalCount) else {
                throw malformed("its header size is wrong")
            }
            let header = BundleHeader(
                kind: kind, connectionID: ConnectionID(bytes: Array(try reader.readBytes(ConnectionID.byteCount))),
                hubPublicKey: Array(try reader.readBytes(32)), sequence: try reader.readBigEndian(Int64.self),
                previousBundleHash: Array(try reader.readBytes(32)), createdAt: try reader.readBigEndian(Int64.self),
                expiresAt: try reader.readBigEndian(Int64.self), salt: Array(try reader.readBytes(32)),
                chunkSize: try reader.readBigEndian(UInt32.self), chunkCount: try reader.readBigEndian(UInt64.self),
                payloadSize: try reader.readBigEndian(UInt64.self), payloadHash: Array(try reader.readBytes(32)),
                compressedSize: try reader.readBigEndian(UInt64.self),
                archiveSize: try reader.readBigEndian(UInt64.self))
            guard try reader.readBytes(reader.remaining).allSatisfy({ $0 == 0 }) else {
                throw malformed("its reserved header bytes are not zero")
            }
            return header
        }
    }

    public init(
        kind: Kind, connectionID: ConnectionID, hubPublicKey: [UInt8], sequence: Int64, previousBundleHash: [UInt8],
        createdAt: Int64, expiresAt: Int64, salt: [UInt8], chunkSize: UInt32, chunkCount: UInt64, payloadSize: UInt64,
        payloadHash: [UInt8], compressedSize: UInt64, archiveSize: UInt64
    ) {
        self.kind = kind
        self.connectionID = connectionID
        self.hubPublicKey = hubPublicKey
        self.sequence = sequence
        self.previousBundleHash = previousBundleHash
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.salt = salt
        self.chunkSize = chunkSize
        self.chunkCount = chunkCount
        self.payloadSize = payloadSize
        self.payloadHash = payloadHash
        self.compressedSize = compressedSize
        self.archiveSize = archiveSize
    }

    /// Whether the sizes agree: `chunkCount` chunks of `chunkSize` holding `compressedSize` bytes.
    var isConsistent: Bool {
        guard chunkSize > 0, chunkSize <= 64 << 20, chunkCount > 0, compressedSize > 0, compressedSize < 1 << 62
        else { return false }
        let expectedChunks = (compressedSize + UInt64(chunkSize) - 1) / UInt64(chunkSize)
        return expectedChunks == chunkCount && payloadSize == compressedSize + chunkCount * UInt64(AESGCM.tagCount)
    }
}
