internal import CArchive

/// Reads a zstd-compressed tar archive from a `ByteSource`, one entry at a time.
///
/// Nothing is ever written to disk by path: callers get each entry's name,
/// type and size and read its bytes into memory they own.
public final class ArchiveReader {
    public struct Entry: Sendable {
        public var name: String
        public var size: Int64
        /// Only plain files are ever expected in a bundle; anything else is refused by the caller.
        public var isRegularFile: Bool
        public var hasLinkTarget: Bool
    }

    private let archive: OpaquePointer
    private let source: ByteSource
    fileprivate var sourceError: (any Error)?

    public init(source: ByteSource) throws {
        guard let archive = archive_read_new() else {
            throw ArchiveError(operation: "archive_read_new", message: "out of memory", errno: 0, isReading: true)
        }
        self.archive = archive
        self.source = source
        try check(archive_read_support_filter_zstd(archive), "enabling zstd")
        try check(archive_read_support_format_tar(archive), "enabling tar")
        let context = Unmanaged.passUnretained(self).toOpaque()
        try check(archive_read_open2(archive, context, nil, archiveReadCallback, nil, nil), "opening the archive")
    }

    deinit {
        archive_read_free(archive)
    }

    private func check(_ code: Int32, _ operation: String) throws {
        guard code == ARCHIVE_OK || code == ARCHIVE_WARN else {
            if let sourceError {
                self.sourceError = nil
                throw sourceError
            }
            throw ArchiveError.from(archive, operation, reading: true)
        }
    }

    /// The number of decompressed bytes produced so far, to hold against a limit.
    public var decompressedByteCount: Int64 { archive_filter_bytes(archive, 0) }

    /// The next entry's header, or nil at the end of the archive.
    ///
    /// The corresponding C function is `archive_read_next_header`.
    public func nextEntry() throws -> Entry? {
        var entry: OpaquePointer?
        let code = archive_read_next_header(archive, &entry)
        if code == ARCHIVE_EOF { return nil }
        try check(code, "reading an entry header")
        guard let entry else { return nil }
        let name = archive_entry_pathname(entry).map { String(cString: $0) } ?? ""
        let isRegular = archive_entry_filetype(entry) == xo_archive_regular_file_type()
        let hasLink = archive_entry_hardlink(entry) != nil || archive_entry_symlink(entry) != nil
        return Entry(
            name: name, size: archive_entry_size_is_set(entry) != 0 ? archive_entry_size(entry) : -1,
            isRegularFile: isRegular, hasLinkTarget: hasLink)
    }

    /// Reads the current entry's data, appending at most `limit` bytes to `buffer`.
    ///
    /// - Returns: `false` when the entry holds more than `limit` bytes (the caller refuses it).
    public func readEntryData(into buffer: inout [UInt8], limit: Int) throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { archive_read_data(archive, $0.baseAddress, $0.count) }
            if count == 0 { return true }
            if count < 0 { try check(Int32(count), "reading entry data") }
            if buffer.count + count > limit { return false }
            buffer.append(contentsOf: chunk[0..<count])
        }
    }
}

private func archiveReadCallback(
    _ archive: OpaquePointer?, _ context: UnsafeMutableRawPointer?,
    _ buffer: UnsafeMutablePointer<UnsafeRawPointer?>?
) -> la_ssize_t {
    let reader = Unmanaged<ArchiveReader>.fromOpaque(context!).takeUnretainedValue()
    do {
        let piece = try reader.sourceOrThrow().read()
        buffer?.pointee = piece.baseAddress
        return piece.count
    } catch {
        reader.sourceError = error
        xo_archive_set_error(archive, "the input could not be read")
        return -1
    }
}

extension ArchiveReader {
    fileprivate func sourceOrThrow() -> ByteSource { source }
}
