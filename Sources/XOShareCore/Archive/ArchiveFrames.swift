internal import CArchive

/// The pieces of a tar.zst archive built from separately compressed zstd frames.
///
/// A zstd decoder reads concatenated frames as one stream, so an archive made of
/// frames reads exactly like one compressed in a single pass (`ArchiveReader`
/// does not know the difference). Building it frame by frame lets a writer
/// compress a data entry once and put the same frame into several archives,
/// and compress frames on another thread.
public enum ArchiveFrames {
    /// The end-of-archive marker of a tar stream: two zero blocks.
    public static let endOfArchive = [UInt8](repeating: 0, count: 1024)
}

/// Encodes tar entries (pax, regular files) as plain bytes: header, contents,
/// padding to the 512-byte block. No compression and no end-of-archive marker.
public final class TarEntryEncoder {
    private let capture = CapturingSink()
    private let writer: ArchiveWriter

    /// - Parameter modificationTime: the time stamped on every entry.
    public init(modificationTime: Int64) throws {
        writer = try ArchiveWriter(sink: capture, compressionLevel: nil, modificationTime: modificationTime)
    }

    deinit {
        capture.isCapturing = false  // Freeing the writer writes the end marker, which nobody asked for.
    }

    /// Appends the tar bytes of one regular file named `name` holding `contents` to `buffer`.
    public func append(named name: String, contents: UnsafeRawBufferPointer, to buffer: inout [UInt8]) throws {
        swap(&capture.bytes, &buffer)
        defer { swap(&capture.bytes, &buffer) }
        try writer.addFile(named: name, contents: contents)
    }
}

/// Keeps what a writer hands it, while `isCapturing`.
private final class CapturingSink: ByteSink {
    var bytes: [UInt8] = []
    var isCapturing = true

    func write(_ data: UnsafeRawBufferPointer) throws {
        if isCapturing { bytes.append(contentsOf: data) }
    }
}

/// Compresses bytes into one complete zstd frame, with libarchive's zstd filter
/// over its raw format (one unnamed entry, no headers).
public struct ZstdFrameCompressor: Sendable {
    public var level: Int

    public init(level: Int = 3) {
        self.level = level
    }

    /// Appends the frame holding `plain` to `output`.
    public func compress(_ plain: UnsafeRawBufferPointer, appendingTo output: inout [UInt8]) throws {
        guard let archive = archive_write_new() else {
            throw ArchiveError(operation: "archive_write_new", message: "out of memory", errno: 0, isReading: false)
        }
        defer { archive_write_free(archive) }
        func check(_ code: Int32, _ operation: String) throws {
            guard code == ARCHIVE_OK || code == ARCHIVE_WARN else {
                throw ArchiveError.from(archive, operation, reading: false)
            }
        }
        let box = FrameOutput()
        swap(&box.bytes, &output)
        defer { swap(&box.bytes, &output) }
        try check(archive_write_set_format_raw(archive), "choosing the raw format")
        try check(archive_write_add_filter_zstd(archive), "adding zstd compression")
        try check(
            archive_write_set_filter_option(archive, "zstd", "compression-level", String(level)),
            "setting the zstd level")
        try check(archive_write_set_bytes_per_block(archive, 0), "setting the block size")
        let context = Unmanaged.passUnretained(box).toOpaque()
        try check(archive_write_open2(archive, context, nil, frameWriteCallback, nil, nil), "opening the frame")
        guard let entry = archive_entry_new() else {
            throw ArchiveError(operation: "archive_entry_new", message: "out of memory", errno: 0, isReading: false)
        }
        defer { archive_entry_free(entry) }
        archive_entry_set_filetype(entry, xo_archive_regular_file_type())
        archive_entry_set_size(entry, la_int64_t(plain.count))
        try check(archive_write_header(archive, entry), "starting the frame")
        if !writeArchiveData(archive, plain) { try check(Int32(ARCHIVE_FATAL), "compressing the frame") }
        try check(archive_write_close(archive), "finishing the frame")
    }
}

private final class FrameOutput {
    var bytes: [UInt8] = []
}

private func frameWriteCallback(
    _ archive: OpaquePointer?, _ context: UnsafeMutableRawPointer?, _ buffer: UnsafeRawPointer?, _ length: Int
) -> la_ssize_t {
    let output = Unmanaged<FrameOutput>.fromOpaque(context!).takeUnretainedValue()
    if length > 0 { output.bytes.append(contentsOf: UnsafeRawBufferPointer(start: buffer, count: length)) }
    return length
}
