/// The payload encryption: the decompressed-then-compressed archive is cut into
/// chunks of `chunkSize` bytes, each sealed with AES-256-GCM under a key
/// derived for this bundle alone (HKDF-SHA256 of the invitation secret, salted
/// with the bundle's random salt). The nonce is the chunk's index, and the
/// associated data binds the connection, the sequence and whether the chunk is
/// the last one, so a chunk moved, dropped, or taken from another bundle fails
/// to authenticate.
struct ChunkCipher {
    static let keyInfoPrefix = Array("xoshare bundle key v1".utf8)

    let cipher: AESGCM
    let connectionID: ConnectionID
    let sequence: Int64

    init(secret: [UInt8], salt: [UInt8], connectionID: ConnectionID, sequence: Int64) throws {
        let key = try hkdfSHA256(
            secret: secret, salt: salt, info: Self.keyInfoPrefix + connectionID.bytes, length: AESGCM.keyCount)
        cipher = try AESGCM(key: key)
        self.connectionID = connectionID
        self.sequence = sequence
    }

    static func nonce(forChunk index: UInt64) -> [UInt8] {
        var writer = ByteWriter(capacity: 12)
        writer.appendBigEndian(UInt32(0))
        writer.appendBigEndian(index)
        return writer.bytes
    }

    func associatedData(isFinal: Bool) -> [UInt8] {
        var writer = ByteWriter(capacity: 32)
        writer.append(Array("xoshare chunk".utf8))
        writer.append(connectionID.bytes)
        writer.appendBigEndian(sequence)
        writer.append(isFinal ? 1 : 0)
        return writer.bytes
    }
}

/// Encrypts the archive stream into the bundle file, hashing the ciphertext as it goes.
final class EncryptingFileSink: ByteSink {
    private let file: FileDescriptor
    private let cipher: ChunkCipher
    private let chunkSize: Int
    private var pending: [UInt8] = []
    private var sealed: [UInt8] = []
    private let hasher = SHA256()
    private(set) var chunkCount: UInt64 = 0
    private(set) var payloadSize: UInt64 = 0
    private(set) var compressedSize: UInt64 = 0

    init(file: FileDescriptor, cipher: ChunkCipher, chunkSize: Int) {
        self.file = file
        self.cipher = cipher
        self.chunkSize = chunkSize
        pending.reserveCapacity(chunkSize * 2)
        sealed.reserveCapacity(chunkSize + AESGCM.tagCount)
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        compressedSize += UInt64(bytes.count)
        pending.append(contentsOf: bytes)
        // A chunk is sealed only once more bytes follow it, so the last chunk is known to be last.
        while pending.count > chunkSize {
            try pending.withUnsafeBytes {
                try seal(UnsafeRawBufferPointer(rebasing: $0[0..<chunkSize]), isFinal: false)
            }
            pending.removeFirst(chunkSize)
        }
    }

    /// Seals what remains as the final chunk.
    func finish() throws -> (hash: [UInt8], chunkCount: UInt64, payloadSize: UInt64, compressedSize: UInt64) {
        try pending.withUnsafeBytes { try seal($0, isFinal: true) }
        pending.removeAll()
        return (hasher.finalize(), chunkCount, payloadSize, compressedSize)
    }

    private func seal(_ plaintext: UnsafeRawBufferPointer, isFinal: Bool) throws {
        sealed.removeAll(keepingCapacity: true)
        try cipher.cipher.seal(
            plaintext, nonce: ChunkCipher.nonce(forChunk: chunkCount),
            authenticating: cipher.associatedData(isFinal: isFinal),
            into: &sealed)
        try sealed.withUnsafeBytes { raw in
            hasher.update(raw)
            try file.write(raw)
        }
        chunkCount += 1
        payloadSize += UInt64(sealed.count)
    }
}

/// Decrypts a verified bundle's payload chunk by chunk for the archive reader.
final class DecryptingFileSource: ByteSource {
    private let file: FileDescriptor
    private let header: BundleHeader
    private let cipher: ChunkCipher
    private let name: String
    private var nextChunk: UInt64 = 0
    private var offset = Int64(BundleHeader.totalCount)
    private var sealed: [UInt8]
    private var plain: [UInt8]
    /// Stable storage for the piece handed to libarchive, valid until the next `read`.
    private let output: UnsafeMutableRawBufferPointer

    init(file: FileDescriptor, header: BundleHeader, cipher: ChunkCipher, name: String) {
        self.file = file
        self.header = header
        self.cipher = cipher
        self.name = name
        sealed = [UInt8](repeating: 0, count: Int(header.chunkSize) + AESGCM.tagCount)
        plain = []
        plain.reserveCapacity(Int(header.chunkSize))
        output = .allocate(byteCount: Int(header.chunkSize), alignment: 16)
    }

    deinit { output.deallocate() }

    func read() throws -> UnsafeRawBufferPointer {
        guard nextChunk < header.chunkCount else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        let isFinal = nextChunk == header.chunkCount - 1
        let plainCount =
            isFinal
            ? Int(header.compressedSize - UInt64(header.chunkSize) * (header.chunkCount - 1)) : Int(header.chunkSize)
        let sealedCount = plainCount + AESGCM.tagCount
        let got = try sealed.withUnsafeMutableBytes {
            try file.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<sealedCount]), at: offset)
        }
        guard got == sealedCount else {
            throw XOShareError(
                .temporaryFailure, "The bundle \(name) became shorter while it was being read; try again.")
        }
        plain.removeAll(keepingCapacity: true)
        let authentic = try sealed.withUnsafeBytes {
            try cipher.cipher.open(
                UnsafeRawBufferPointer(rebasing: $0[0..<sealedCount]), nonce: ChunkCipher.nonce(forChunk: nextChunk),
                authenticating: cipher.associatedData(isFinal: isFinal), into: &plain)
        }
        guard authentic else {
            throw XOShareError.badData(
                "The bundle \(name) does not decrypt (chunk \(nextChunk) fails authentication): it was altered or made with another invitation."
            )
        }
        offset += Int64(sealedCount)
        nextChunk += 1
        plain.withUnsafeBytes { output.copyMemory(from: $0) }
        return UnsafeRawBufferPointer(rebasing: output[0..<plain.count])
    }
}
