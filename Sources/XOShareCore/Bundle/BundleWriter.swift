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
    public var chunkSize: UInt32 = 1 << 20
    /// Tests only: a decompressed size to declare instead of the true one, as a hostile hub might.
    var declaredArchiveSize: UInt64?

    public init(
        kind: BundleHeader.Kind, connectionID: ConnectionID, secret: [UInt8], sequence: Int64,
        previousBundleHash: [UInt8], createdAt: Int64, expiresAt: Int64
    ) {
        self.kind = kind
        self.connectionID = connectionID
        self.secret = secret
        self.sequence = sequence
        self.previousBundleHash = previousBundleHash
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}

/// Writes one bundle: the archive goes through AES-GCM chunks to a temporary
/// file; then the header is signed and written in front and the file is
/// flushed. `publish` then renames it to its final name.
public enum BundleWriter {
    /// Writes a bundle whose archive is the manifest, then `streams` (the records of
    /// each manifest object that has any, in manifest order), then the summary.
    public static func write(
        into drop: DropDirectory, parameters: BundleParameters, signingKey: SigningKey, manifest: Manifest,
        streams: [RecordStream]
    ) throws -> WrittenBundle {
        var recordCounts: [Int64] = []
        var written = try write(into: drop, parameters: parameters, signingKey: signingKey) { sink in
            let layout = try BundleArchiveWriter.write(
                manifest: manifest, streams: streams, modificationTime: parameters.createdAt,
                compressionLevel: parameters.compressionLevel, to: sink)
            recordCounts = layout.recordCounts
            return layout.archiveSize
        }
        written.recordCounts = recordCounts
        return written
    }

    /// Writes a bundle whose archive entries the caller lays out itself (in tests,
    /// anything a hostile hub could send), compressed in a single zstd frame.
    static func write(
        into drop: DropDirectory, parameters: BundleParameters, signingKey: SigningKey,
        archive fill: (ArchiveWriter) throws -> Void
    ) throws -> WrittenBundle {
        try write(into: drop, parameters: parameters, signingKey: signingKey) { sink in
            let archive = try ArchiveWriter(
                sink: sink, compressionLevel: parameters.compressionLevel,
                modificationTime: parameters.createdAt)
            try fill(archive)
            try archive.close()
            return UInt64(archive.uncompressedByteCount)
        }
    }

    /// Writes the header space, then the encrypted payload `fill` writes to the sink
    /// (returning the size of its archive before compression), then the signed header.
    private static func write(
        into drop: DropDirectory, parameters: BundleParameters, signingKey: SigningKey,
        payload fill: (ByteSink) throws -> UInt64
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
            let archiveSize = try fill(sink)
            let sealed = try sink.finish()
            let header = BundleHeader(
                kind: parameters.kind, connectionID: parameters.connectionID, hubPublicKey: signingKey.publicKey,
                sequence: parameters.sequence, previousBundleHash: parameters.previousBundleHash,
                createdAt: parameters.createdAt, expiresAt: parameters.expiresAt, salt: salt,
                chunkSize: parameters.chunkSize, chunkCount: sealed.chunkCount, payloadSize: sealed.payloadSize,
                payloadHash: sealed.hash, compressedSize: sealed.compressedSize,
                archiveSize: parameters.declaredArchiveSize ?? archiveSize)
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

/// Lays out a bundle archive as zstd frames: the manifest, each object's
/// records in data entries (from its `RecordStream`), then the summary and
/// the end of the tar stream.
public enum BundleArchiveWriter {
    public static func write(
        manifest: Manifest, streams: [RecordStream], modificationTime: Int64, compressionLevel: Int = 3,
        to sink: ByteSink
    ) throws -> (archiveSize: UInt64, recordCounts: [Int64]) {
        precondition(
            zip(streams, streams.dropFirst()).allSatisfy { $0.object < $1.object }
                && streams.allSatisfy { $0.object < manifest.objects.count },
            "record streams follow the manifest's order")
        let frames = try FrameEncoder(modificationTime: modificationTime, compressionLevel: compressionLevel)
        let head = try manifest.encoded().withUnsafeBytes { try frames.frame(entries: [(Manifest.entryName, $0)]) }
        try head.compressed.withUnsafeBytes { try sink.write($0) }
        var archiveSize = UInt64(head.archiveSize)
        var counts = Array(repeating: Summary.ObjectCount(records: 0, segments: 0), count: manifest.objects.count)
        for stream in streams {
            try stream.finish()
            try stream.copy(to: sink)
            archiveSize += stream.archiveSize
            counts[stream.object] = Summary.ObjectCount(
                records: stream.recordCount, segments: Int64(stream.segmentCount))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let summary = Array(try encoder.encode(Summary(objects: counts)))
        let tail = try summary.withUnsafeBytes {
            try frames.frame(entries: [(Summary.entryName, $0)], endsArchive: true)
        }
        try tail.compressed.withUnsafeBytes { try sink.write($0) }
        archiveSize += UInt64(tail.archiveSize)
        return (archiveSize, counts.map(\.records))
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
