import Foundation

/// One object's records, encoded once for every bundle that carries them.
///
/// Records go into data entries of about `segmentTarget` bytes; each entry is
/// encoded as tar and compressed into its own zstd frame, and the frames are
/// kept in an unnamed spool file. Bundles then copy the frames (`copy(to:)`)
/// between their own manifest and summary frames, so a table shared with fifty
/// spokes is read, encoded and compressed once, not fifty times.
public final class RecordStream {
    /// The object's position in the manifests of the bundles that carry the stream.
    public let object: Int
    private let objectName: String
    private let segmentTarget: Int
    private let segmentLimit: Int
    /// The data entry being filled; callers append one record, then call `endRecord()`.
    public var segment: ByteWriter
    public private(set) var recordCount: Int64 = 0
    public private(set) var segmentCount = 0
    /// The tar bytes the frames hold, and the size of the frames.
    public private(set) var archiveSize: UInt64 = 0
    public private(set) var compressedSize: UInt64 = 0
    /// Called after each record (tests use it to interrupt a run mid-bundle).
    var onRecord: (() -> Void)?
    private let spool: FileDescriptor
    private let frames: FrameEncoder
    private let worker: FrameWorker?
    private var isFinished = false
    /// The first failure of a frame written on the worker, read under `failureLock`.
    private var failure: (any Error)?
    private let failureLock = NSLock()

    /// - Parameters:
    ///   - spoolDirectory: a local folder for the spool file (the org's home).
    ///   - segmentLimit: the largest data entry the bundle's manifest allows.
    ///   - worker: the thread that compresses full entries while records are appended;
    ///     without one, entries are compressed by the thread that appends.
    public init(
        object: Int, objectName: String, spoolDirectory: String, modificationTime: Int64, segmentTarget: Int = 1 << 20,
        segmentLimit: Int = maximumSegmentLimit, compressionLevel: Int = 3, worker: FrameWorker? = nil
    ) throws {
        self.worker = worker
        self.object = object
        self.objectName = objectName
        self.segmentTarget = min(segmentTarget, segmentLimit)
        self.segmentLimit = segmentLimit
        segment = ByteWriter(capacity: self.segmentTarget + 64 * 1024)
        spool = try FileDescriptor.unnamed(in: spoolDirectory)
        frames = try FrameEncoder(modificationTime: modificationTime, compressionLevel: compressionLevel)
    }

    /// Counts the record just appended to `segment` and writes the entry once it is full.
    @inline(__always)
    public func endRecord() throws {
        recordCount += 1
        onRecord?()
        if segment.bytes.count >= segmentTarget { try flushSegment() }
    }

    private func flushSegment() throws {
        guard !segment.bytes.isEmpty else { return }
        guard segment.bytes.count <= segmentLimit else {
            throw XOShareError.badData(
                "A record of \(objectName) takes more than \(segmentLimit >> 20) MiB, the most one bundle entry can hold; it cannot be shared."
            )
        }
        let name = segmentEntryName(object: object, segment: segmentCount)
        segmentCount += 1
        guard let worker else {
            try writeFrame(named: name, holding: segment.bytes)
            segment.removeAll()
            return
        }
        if let failure = failureLock.withLock({ failure }) { throw failure }
        let bytes = segment.bytes
        segment = ByteWriter(capacity: segmentTarget + 64 * 1024)
        worker.submit { [self] in
            guard failureLock.withLock({ failure == nil }) else { return }
            do {
                try writeFrame(named: name, holding: bytes)
            } catch {
                failureLock.withLock { failure = error }
            }
        }
    }

    /// Compresses one data entry and appends it to the spool (on the worker, when there is one).
    private func writeFrame(named name: String, holding bytes: [UInt8]) throws {
        let frame = try bytes.withUnsafeBytes { try frames.frame(entries: [(name, $0)]) }
        try frame.compressed.withUnsafeBytes { try spool.write($0) }
        archiveSize += UInt64(frame.archiveSize)
        compressedSize += UInt64(frame.compressed.count)
    }

    /// Writes the last, partly filled entry. No record may follow.
    public func finish() throws {
        guard !isFinished else { return }
        try flushSegment()
        worker?.waitForSubmittedJobs()
        if let failure = failureLock.withLock({ failure }) { throw failure }
        isFinished = true
    }

    /// Appends the stream's frames to `sink`.
    public func copy(to sink: ByteSink) throws {
        precondition(isFinished, "a record stream is copied once finished")
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var offset: Int64 = 0
        while offset < Int64(compressedSize) {
            let count = try buffer.withUnsafeMutableBytes { raw in
                try spool.read(
                    into: UnsafeMutableRawBufferPointer(
                        rebasing: raw[0..<min(raw.count, Int(Int64(compressedSize) - offset))]),
                    at: offset)
            }
            guard count > 0 else {
                throw SystemError(errno: EIO, operation: "read back", path: "the spool file of \(objectName)")
            }
            try buffer.withUnsafeBytes { try sink.write(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            offset += Int64(count)
        }
    }
}

/// A thread that compresses data entries while the caller goes on reading
/// records: the export's second stage, on the second core. Jobs run one at a
/// time in the order they were submitted; a submitter waits while
/// `maximumPending` jobs are queued, so memory stays bounded.
public final class FrameWorker: @unchecked Sendable {
    private let queue = DispatchQueue(label: "xoshare.frames")
    private let slots: DispatchSemaphore

    public init(maximumPending: Int = 2) {
        slots = DispatchSemaphore(value: maximumPending)
    }

    func submit(_ job: @escaping () -> Void) {
        slots.wait()
        let box = Unchecked(job)
        queue.async {
            box.value()
            self.slots.signal()
        }
    }

    /// Returns once every job submitted so far has run.
    func waitForSubmittedJobs() {
        queue.sync {}
    }
}

/// Turns tar entries into zstd frames: the one place a bundle's archive bytes are made.
final class FrameEncoder {
    private let tar: TarEntryEncoder
    private let compressor: ZstdFrameCompressor
    private var plain: [UInt8] = []

    init(modificationTime: Int64, compressionLevel: Int) throws {
        tar = try TarEntryEncoder(modificationTime: modificationTime)
        compressor = ZstdFrameCompressor(level: compressionLevel)
    }

    /// One frame holding `entries` as tar, and, when `endsArchive`, the end-of-archive marker.
    func frame(entries: [(name: String, contents: UnsafeRawBufferPointer)], endsArchive: Bool = false) throws
        -> (compressed: [UInt8], archiveSize: Int)
    {
        plain.removeAll(keepingCapacity: true)
        for entry in entries { try tar.append(named: entry.name, contents: entry.contents, to: &plain) }
        if endsArchive { plain.append(contentsOf: ArchiveFrames.endOfArchive) }
        var compressed: [UInt8] = []
        compressed.reserveCapacity(plain.count / 2 + 1024)
        try plain.withUnsafeBytes { try compressor.compress($0, appendingTo: &compressed) }
        return (compressed, plain.count)
    }
}
