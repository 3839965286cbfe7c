import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A failed system call, with errno, the operation and the file it was about.
public struct SystemError: ExitCodeConvertible {
    public var errno: Int32
    public var operation: String
    public var path: String

    public var isDiskFull: Bool { errno == ENOSPC || errno == EDQUOT }

    public var exitCode: ExitCode {
        switch errno {
        case ENOENT, ENOTDIR: return .noInput
        case EACCES, EPERM: return .noPermission
        case EROFS, EEXIST: return .cannotCreate
        case EWOULDBLOCK, EINTR: return .temporaryFailure
        default: return .ioError
        }
    }

    public var description: String {
        let reason = String(cString: strerror(errno))
        var text = "Could not \(operation) \(path): \(reason)"
        if isDiskFull { text += "; free some space and run again" }
        if errno == EACCES || errno == EPERM || errno == EROFS { text += "; check the permissions of that place" }
        return text + "."
    }
}

/// The one checking helper for system calls: returns the result, or throws
/// `SystemError` with errno when it is -1, retrying calls that were interrupted.
@discardableResult
func valueOrErrno<T: FixedWidthInteger>(_ operation: String, _ path: String, _ call: () -> T) throws -> T {
    while true {
        let result = call()
        if result != -1 { return result }
        let code = errno
        if code == EINTR { continue }
        throw SystemError(errno: code, operation: operation, path: path)
    }
}

/// An open file descriptor, closed when the object goes away.
public final class FileDescriptor {
    public let rawValue: Int32
    public let path: String

    public init(path: String, flags: Int32, mode: mode_t = 0o644, operation: String = "open") throws {
        self.rawValue = try valueOrErrno(operation, path) { open(path, flags | O_CLOEXEC, mode) }
        self.path = path
    }

    deinit { close(rawValue) }

    /// A new file in `directory` that has no name: it is removed as soon as it is
    /// created, so it goes away when closed, even if the process is killed.
    public static func unnamed(in directory: String) throws -> FileDescriptor {
        var template = Array((directory + "/.xo-spool-XXXXXX").utf8CString)
        let raw = try valueOrErrno("create a temporary file in", directory) {
            template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        }
        let path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        unlink(path)
        _ = fcntl(raw, F_SETFD, FD_CLOEXEC)
        return FileDescriptor(rawValue: raw, path: path)
    }

    private init(rawValue: Int32, path: String) {
        self.rawValue = rawValue
        self.path = path
    }

    /// Writes all of `bytes` at the current position.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let written = try valueOrErrno("write to", path) {
                Glibc.write(rawValue, bytes.baseAddress! + offset, bytes.count - offset)
            }
            offset += written
        }
    }

    public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    /// Writes all of `bytes` at `offset` without moving the file position.
    public func write(_ bytes: [UInt8], at offset: Int64) throws {
        try bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let written = try valueOrErrno("write to", path) {
                    pwrite(rawValue, raw.baseAddress! + done, raw.count - done, off_t(offset) + off_t(done))
                }
                done += written
            }
        }
    }

    /// Reads up to `count` bytes at `offset`; fewer only at the end of the file.
    public func read(count: Int, at offset: Int64) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var done = 0
        try buffer.withUnsafeMutableBytes { raw in
            while done < count {
                let got = try valueOrErrno("read", path) {
                    pread(rawValue, raw.baseAddress! + done, count - done, off_t(offset) + off_t(done))
                }
                if got == 0 { break }
                done += got
            }
        }
        buffer.removeSubrange(done...)
        return buffer
    }

    /// Reads into `buffer` at `offset`; returns the number of bytes read (0 at the end).
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        var done = 0
        while done < buffer.count {
            let got = try valueOrErrno("read", path) {
                pread(rawValue, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            }
            if got == 0 { break }
            done += got
        }
        return done
    }

    public func synchronize() throws { try valueOrErrno("flush to disk", path) { fsync(rawValue) } }

    public var size: Int64 {
        get throws {
            var info = stat()
            try valueOrErrno("inspect", path) { fstat(rawValue, &info) }
            return Int64(info.st_size)
        }
    }

    public var permissions: mode_t {
        get throws {
            var info = stat()
            try valueOrErrno("inspect", path) { fstat(rawValue, &info) }
            return info.st_mode & 0o777
        }
    }
}

/// File-system operations that make a file appear whole or not at all.
public enum Files {
    /// Flushes a directory so that a rename into it survives a crash.
    public static func synchronizeDirectory(_ path: String) throws {
        let directory = try FileDescriptor(path: path, flags: O_RDONLY | O_DIRECTORY)
        // Some file systems (and some network shares) cannot fsync a directory; that is not an error worth failing for.
        _ = fsync(directory.rawValue)
    }

    /// Renames within one directory, replacing any existing file atomically.
    public static func rename(_ source: String, to destination: String) throws {
        try valueOrErrno("rename a file to", destination) { Glibc.rename(source, destination) }
    }

    /// Writes `bytes` to `path` through a temporary name in the same directory,
    /// flushed to disk before the rename, so a reader sees the old file or the new, never half.
    public static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let temporary = (directory as NSString).appendingPathComponent(
            ".xo-tmp-" + (try randomBytes(8)).hexString)
        do {
            let file = try FileDescriptor(
                path: temporary, flags: O_WRONLY | O_CREAT | O_EXCL, mode: mode, operation: "create")
            try file.write(bytes)
            try file.synchronize()
            try rename(temporary, to: path)
        } catch {
            unlink(temporary)
            throw error
        }
        try synchronizeDirectory(directory.isEmpty ? "." : directory)
    }

    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    public static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// The names in a directory (not paths), sorted.
    public static func list(_ directory: String) throws -> [String] {
        guard let handle = opendir(directory) else {
            throw SystemError(errno: errno, operation: "read the directory", path: directory)
        }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// An absolute, tidy form of a path given on the command line.
    public static func absolute(_ path: String) -> String {
        let expanded = (path as NSString).expandingTildeInPath
        if expanded.hasPrefix("/") { return (expanded as NSString).standardizingPath }
        return ((FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(expanded) as NSString)
            .standardizingPath
    }
}
