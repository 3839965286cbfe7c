internal import CArchive

/// Writes a zstd-compressed tar archive of regular files to a `ByteSink`, streaming.
public final class ArchiveWriter {
    private let archive: OpaquePointer
    private let sink: ByteSink
    /// The sink's own error, kept so it is rethrown instead of libarchive's summary.
    fileprivate var sinkError: (any Error)?
    private let modificationTime: Int64
    private var isClosed = false

    /// - Parameters:
    ///   - compressionLevel: zstd level (1 to 19), or nil for a plain tar stream
    ///     handed to the sink as it is made, entry by entry, with no blocking.
    ///   - modificationTime: the time stamped on every entry.
    public init(sink: ByteSink, compressionLevel: Int? = 3, modificationTime: Int64) throws {
        guard let archive = archive_write_new() else {
            throw ArchiveError(operation: "archive_write_new", message: "out of memory", errno: 0, isReading: false)
        }
        self.archive = archive
        self.sink = sink
        self.modificationTime = modificationTime
        try check(archive_write_set_format_pax_restricted(archive), "choosing the tar format")
        if let compressionLevel {
            try check(archive_write_add_filter_zstd(archive), "adding zstd compression")
            try check(
                archive_write_set_filter_option(archive, "zstd", "compression-level", String(compressionLevel)),
                "setting the zstd level")
            try check(archive_write_set_bytes_in_last_block(archive, 1), "setting the last block size")
        } else {
            try check(archive_write_set_bytes_per_block(archive, 0), "setting the block size")
        }
        let context = Unmanaged.passUnretained(self).toOpaque()
        try check(archive_write_open2(archive, context, nil, archiveWriteCallback, nil, nil), "opening the archive")
    }

    deinit {
        archive_write_free(archive)
    }

    /// The one checking helper for libarchive calls on this writer.
    private func check(_ code: Int32, _ operation: String) throws {
        guard code == ARCHIVE_OK || code == ARCHIVE_WARN else {
            if let sinkError {
                self.sinkError = nil
                throw sinkError
            }
            throw ArchiveError.from(archive, operation, reading: false)
        }
    }

    /// The bytes of tar produced so far, before compression.
    public var uncompressedByteCount: Int64 { archive_filter_bytes(archive, 0) }

    /// The kinds of entry a writer can add. Bundles hold only files; the others exist
    /// so that tests can build the archives a hostile hub might send.
    enum EntryKind {
        case file
        case directory
        case symbolicLink(target: String)
        case hardLink(target: String)
        case characterDevice
    }

    /// Adds one regular file holding `contents`.
    public func addFile(named name: String, contents: UnsafeRawBufferPointer) throws {
        try addEntry(named: name, kind: .file, contents: contents)
    }

    func addEntry(named name: String, kind: EntryKind, contents: UnsafeRawBufferPointer) throws {
        guard let entry = archive_entry_new() else {
            throw ArchiveError(operation: "archive_entry_new", message: "out of memory", errno: 0, isReading: false)
        }
        defer { archive_entry_free(entry) }
        archive_entry_set_pathname(entry, name)
        archive_entry_set_size(entry, la_int64_t(contents.count))
        switch kind {
        case .file: archive_entry_set_filetype(entry, xo_archive_regular_file_type())
        case .directory: archive_entry_set_filetype(entry, xo_archive_directory_type())
        case .symbolicLink(let target):
            archive_entry_set_filetype(entry, xo_archive_symbolic_link_type())
            archive_entry_set_symlink(entry, target)
        case .hardLink(let target):
            archive_entry_set_filetype(entry, xo_archive_regular_file_type())
            archive_entry_set_hardlink(entry, target)
        case .characterDevice: archive_entry_set_filetype(entry, xo_archive_character_device_type())
        }
        archive_entry_set_perm(entry, 0o644)
        archive_entry_set_mtime(entry, time_t(modificationTime), 0)
        try check(archive_write_header(archive, entry), "writing the header of \(name)")
        if !writeArchiveData(archive, contents) { try check(Int32(ARCHIVE_FATAL), "writing \(name)") }
        try check(archive_write_finish_entry(archive), "finishing \(name)")
    }

    public func addFile(named name: String, contents: [UInt8]) throws {
        try contents.withUnsafeBytes { try addFile(named: name, contents: $0) }
    }

    /// Flushes the compressor and the end-of-archive marker to the sink.
    public func close() throws {
        guard !isClosed else { return }
        isClosed = true
        try check(archive_write_close(archive), "closing the archive")
    }
}

/// Writes an entry's data in as many calls as libarchive takes; false when one fails.
func writeArchiveData(_ archive: OpaquePointer, _ contents: UnsafeRawBufferPointer) -> Bool {
    var offset = 0
    while offset < contents.count {
        let written = archive_write_data(archive, contents.baseAddress! + offset, contents.count - offset)
        if written <= 0 { return false }
        offset += written
    }
    return true
}

private func archiveWriteCallback(
    _ archive: OpaquePointer?, _ context: UnsafeMutableRawPointer?, _ buffer: UnsafeRawPointer?, _ length: Int
) -> la_ssize_t {
    let writer = Unmanaged<ArchiveWriter>.fromOpaque(context!).takeUnretainedValue()
    do {
        try writer.sinkOrThrow().write(UnsafeRawBufferPointer(start: buffer, count: length))
        return length
    } catch {
        writer.sinkError = error
        xo_archive_set_error(archive, "the output could not be written")
        return -1
    }
}

extension ArchiveWriter {
    fileprivate func sinkOrThrow() -> ByteSink { sink }
}
