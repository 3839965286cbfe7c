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
    private let archive: OpaquePointer
    private let modificationTime: Int64
    /// Where the writer callback appends; swapped with the caller's buffer around each entry.
    fileprivate var output: [UInt8] = []
    fileprivate var capturing = true

    /// - Parameter modificationTime: the time stamped on every entry.
    public init(modificationTime: Int64) throws {
        guard let archive = archive_write_new() else {
            throw ArchiveError(operation: "archive_write_new", message: "out of memory", errno: 0, isReading: false)
        }
        self.archive = archive
        self.modificationTime = modificationTime
        try check(archive_write_set_format_pax_restricted(archive), "choosing the tar format")
        // Unblocked: every byte reaches the callback as soon as it is written.
        try check(archive_write_set_bytes_per_block(archive, 0), "setting the block size")
        let context = Unmanaged.passUnretained(self).toOpaque()
        try check(archive_write_open2(archive, context, nil, tarEntryWriteCallback, nil, nil), "opening the archive")
    }

    deinit {
        capturing = false  // Freeing writes the end marker, which nobody asked for.
        archive_write_free(archive)
    }

    private func check(_ code: Int32, _ operation: String) throws {
        guard code == ARCHIVE_OK || code == ARCHIVE_WARN else {
            throw ArchiveError.from(archive, operation, reading: false)
        }
    }

    /// Appends the tar bytes of one regular file named `name` holding `contents` to `buffer`.
    public func append(named name: String, contents: UnsafeRawBufferPointer, to buffer: inout [UInt8]) throws {
        guard let entry = archive_entry_new() else {
            throw ArchiveError(operation: "archive_entry_new", message: "out of memory", errno: 0, isReading: false)
        }
        defer { archive_entry_free(entry) }
        swap(&output, &buffer)
        defer { swap(&output, &buffer) }
        archive_entry_set_pathname(entry, name)
        archive_entry_set_size(entry, la_int64_t(contents.count))
        archive_entry_set_filetype(entry, xo_archive_regular_file_type())
        archive_entry_set_perm(entry, 0o644)
        archive_entry_set_mtime(entry, time_t(modificationTime), 0)
        try check(archive_write_header(archive, entry), "writing the header of \(name)")
        var offset = 0
        while offset < contents.count {
            let written = archive_write_data(archive, contents.baseAddress! + offset, contents.count - offset)
            if written <= 0 { try check(Int32(ARCHIVE_FATAL), "writing \(name)") }
            offset += written
        }
        try check(archive_write_finish_entry(archive), "finishing \(name)")
    }
}

private func tarEntryWriteCallback(
    _ archive: OpaquePointer?, _ context: UnsafeMutableRawPointer?, _ buffer: UnsafeRawPointer?, _ length: Int
) -> la_ssize_t {
    let encoder = Unmanaged<TarEntryEncoder>.fromOpaque(context!).takeUnretainedValue()
    if encoder.capturing, length > 0 {
        encoder.output.append(contentsOf: UnsafeRawBufferPointer(start: buffer, count: length))
    }
    return length
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
        var offset = 0
        while offset < plain.count {
            let written = archive_write_data(archive, plain.baseAddress! + offset, plain.count - offset)
            if written <= 0 { try check(Int32(ARCHIVE_FATAL), "compressing the frame") }
            offset += written
        }
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
