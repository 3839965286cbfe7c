internal import CArchive

/// A failure reported by libarchive, with its errno and message read at the failure site.
public struct ArchiveError: ExitCodeConvertible {
    public var operation: String
    public var message: String
    public var errno: Int32

    /// Reading a damaged archive is bad data; writing one fails only on I/O.
    public var isReading: Bool

    public var exitCode: ExitCode { isReading ? .dataError : .ioError }

    public var description: String {
        "The bundle archive could not be \(isReading ? "read" : "written") (\(operation)): \(message)."
    }

    static func from(_ archive: OpaquePointer, _ operation: String, reading: Bool) -> ArchiveError {
        let message = archive_error_string(archive).map { String(cString: $0) } ?? "no reason given"
        return ArchiveError(operation: operation, message: message, errno: archive_errno(archive), isReading: reading)
    }
}

/// Where an archive writer sends its bytes. A sink reports its own errors
/// (a full disk, say) by throwing; the writer hands them on unchanged.
public protocol ByteSink: AnyObject {
    func write(_ bytes: UnsafeRawBufferPointer) throws
}

/// Where an archive reader gets its bytes: each call returns the next piece,
/// valid until the following call, and an empty buffer at the end.
public protocol ByteSource: AnyObject {
    func read() throws -> UnsafeRawBufferPointer
}
