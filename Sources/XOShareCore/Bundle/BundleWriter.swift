import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// What a finished bundle is: its file, header and sizes.
///
/// It stays under its temporary name until `publish()` renames it, so the
/// caller can first record it in its state.
public struct WrittenBundle: Sendable {
    /// The final path, where `publish()` puts it.
    public var path: String
    public var temporaryPath: String
    public var header: BundleHeader
    public var fileSize: Int64
    public var recordCounts: [Int64]
}

/// The settings of a bundle to write, besides its content.
public struct BundleParameters {
    public var kind: BundleHeader.Kind
    public var connectionID: ConnectionID
    public var secret: [UInt8]
    public var sequence: Int64
    public var previousBundleHash: [UInt8]
    public var createdAt: Int64
    public var expiresAt: Int64
    public var compressionLevel = 3
    public var compressionThreads = 0
    public var chunkSize: UInt32 = 1 << 20
    /// The size at which a data entry is closed and the next begun.
    public var segmentTarget = 1 << 20
    /// Tests only: a decompressed size to declare instead of the true one, as a hostile hub might.
    var declaredArchiveSize: UInt64?

    public init(
        kind: BundleHeader.Kind, connectionID: ConnectionID, secret: [UInt8], sequence: Int64,
        previousBundleHash: [UInt8], createdAt: Int64, expiresAt: Int64, compressionThreads: Int = 0
    ) {
        self.kind = kind
        self.connectionID = connectionID
        self.secret = secret
        self.sequence = sequence
        self.previousBundleHash = previousBundleHash
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.compressionThreads = compressionThreads
    }
}

/// Writes one bundle: the content goes through tar, zstd and AES-GCM chunks to a
/// temporary file; then the header is signed and written in front and the file
/// is flushed. `publish` then renames it to its final name.
public enum BundleWriter {
    public static func write(
        into drop: DropDirectory, parameters: BundleParameters, signingKey: SigningKey, manifest: Manifest,
        content: (BundleContentWriter) throws -> Void
    ) throws -> WrittenBundle {
        var recordCounts: [Int64] = []
        var written = try write(into: drop, parameters: parameters, signingKey: signingKey) { archive in
            let contentWriter = try BundleContentWriter(
                archive: archive, manifest: manifest, segmentTarget: parameters.segmentTarget)
            try content(contentWriter)
            try contentWriter.finish()
            recordCounts = contentWriter.recordCounts
        }
        written.recordCounts = recordCounts
        return written
    }

    /// Writes a bundle whose archive entries the caller lays out itself (the format's
    /// layout above, or, in tests, anything a hostile hub could send).
    static func write(
        into drop: DropDirectory, parameters: BundleParameters, signingKey: SigningKey,
        archive fill: (ArchiveWriter) throws -> Void
    ) throws -> WrittenBundle {
        let finalName = drop.bundleName(parameters.connectionID, sequence: parameters.sequence)
        let temporary = try drop.temporaryPath(for: finalName)
        do {
            let file = try FileDescriptor(
                path: temporary, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o644, operation: "create the bundle")
            try file.write([UInt8](repeating: 0, count: BundleHeader.totalCount))
            let salt = try randomBytes(32)
            let cipher = try ChunkCipher(
                secret: parameters.secret, salt: salt, connectionID: parameters.connectionID,
                sequence: parameters.sequence)
            let sink = EncryptingFileSink(file: file, cipher: cipher, chunkSize: Int(parameters.chunkSize))
            let archive = try ArchiveWriter(
                sink: sink, compressionLevel: parameters.compressionLevel, threads: parameters.compressionThreads,
                modificationTime: parameters.createdAt)
            try fill(archive)
            try archive.close()
            let archiveSize = parameters.declaredArchiveSize ?? UInt64(archive.uncompressedByteCount)
            let sealed = try sink.finish()
            let header = BundleHeader(
                kind: parameters.kind, connectionID: parameters.connectionID, hubPublicKey: signingKey.publicKey,
                sequence: parameters.sequence, previousBundleHash: parameters.previousBundleHash,
                createdAt: parameters.createdAt, expiresAt: parameters.expiresAt, salt: salt,
                chunkSize: parameters.chunkSize, chunkCount: sealed.chunkCount, payloadSize: sealed.payloadSize,
                payloadHash: sealed.hash, compressedSize: sealed.compressedSize, archiveSize: archiveSize)
            let signed = header.signedBytes
            try file.write(signed + (try signingKey.signature(for: signed)), at: 0)
            try file.synchronize()
            return WrittenBundle(
                path: drop.pathOf(finalName), temporaryPath: temporary, header: header, fileSize: try file.size,
                recordCounts: [])
        } catch {
            unlink(temporary)
            throw error
        }
    }
}

extension WrittenBundle {
    /// Moves the bundle to its final name, where spokes look for it, and flushes the directory.
    public func publish() throws {
        try Files.rename(temporaryPath, to: path)
        try Files.synchronizeDirectory((path as NSString).deletingLastPathComponent)
    }

    /// Removes the bundle while it is still under its temporary name.
    public func discard() {
        unlink(temporaryPath)
    }
}

/// Lays out a bundle archive: the manifest, each object's records in data
/// entries of about `segmentTarget` bytes (never more than the manifest's
/// `segmentLimit`), then the summary.
public final class BundleContentWriter {
    private let archive: ArchiveWriter
    private let manifest: Manifest
    private let segmentTarget: Int
    private var currentObject = -1
    private var segmentIndex = 0
    private var segmentCounts: [Int64]
    public private(set) var recordCounts: [Int64]
    /// The data entry being filled; callers append one record, then call `endRecord()`.
    public var segment = ByteWriter()
    /// Called after each record (tests use it to interrupt a run mid-bundle).
    var onRecord: (() -> Void)?

    init(archive: ArchiveWriter, manifest: Manifest, segmentTarget: Int) throws {
        self.archive = archive
        self.segmentTarget = min(segmentTarget, manifest.segmentLimit)
        self.manifest = manifest
        segmentCounts = Array(repeating: 0, count: manifest.objects.count)
        recordCounts = Array(repeating: 0, count: manifest.objects.count)
        segment = ByteWriter(capacity: self.segmentTarget + 64 * 1024)
        try archive.addFile(named: Manifest.entryName, contents: try manifest.encoded())
    }

    /// Starts the records of object `index` (objects are written in manifest order).
    public func beginObject(_ index: Int) throws {
        precondition(index > currentObject && index < manifest.objects.count)
        try flushSegment()
        currentObject = index
        segmentIndex = 0
    }

    /// Counts the record just appended to `segment` and writes the entry once it is full.
    @inline(__always)
    public func endRecord() throws {
        recordCounts[currentObject] += 1
        onRecord?()
        if segment.bytes.count >= segmentTarget {
            guard segment.bytes.count <= manifest.segmentLimit else {
                throw XOShareError.badData(
                    "A record of \(manifest.objects[currentObject].name) takes more than \(manifest.segmentLimit >> 20) MiB, the most one bundle entry can hold; it cannot be shared."
                )
            }
            try flushSegment()
        }
    }

    private func flushSegment() throws {
        guard currentObject >= 0, !segment.bytes.isEmpty else { return }
        try archive.addFile(
            named: segmentEntryName(object: currentObject, segment: segmentIndex), contents: segment.bytes)
        segmentIndex += 1
        segmentCounts[currentObject] += 1
        segment.removeAll()
    }

    func finish() throws {
        try flushSegment()
        let summary = Summary(
            objects: zip(recordCounts, segmentCounts).map { Summary.ObjectCount(records: $0, segments: $1) })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try archive.addFile(named: Summary.entryName, contents: Array(try encoder.encode(summary)))
    }
}
