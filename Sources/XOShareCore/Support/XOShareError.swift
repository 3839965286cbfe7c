/// The outcome classes of a failed run, numbered as in sysexits(3).
///
/// Every error the library throws maps to exactly one of these, so the CLI can
/// turn it into a documented exit code without looking at message text.
public enum ExitCode: Int32, Sendable, CaseIterable {
    case success = 0
    case usage = 64
    case dataError = 65
    case noInput = 66
    case cannotCreate = 73
    case ioError = 74
    case temporaryFailure = 75
    case noPermission = 77
    case configuration = 78
}

/// Errors that know which exit status they stand for.
public protocol ExitCodeConvertible: Error, CustomStringConvertible {
    var exitCode: ExitCode { get }
}

/// A failure of xoshare itself (as opposed to one reported by a C library),
/// phrased as one sentence a person can act on.
public struct XOShareError: ExitCodeConvertible, Equatable {
    public var exitCode: ExitCode
    public var message: String

    public init(_ exitCode: ExitCode, _ message: String) {
        self.exitCode = exitCode
        self.message = message
    }

    public var description: String { message }

    static func usage(_ message: String) -> XOShareError { XOShareError(.usage, message) }
    static func badData(_ message: String) -> XOShareError { XOShareError(.dataError, message) }
    static func configuration(_ message: String) -> XOShareError { XOShareError(.configuration, message) }
    static func noInput(_ message: String) -> XOShareError { XOShareError(.noInput, message) }
}

extension Error {
    /// The exit status for any error: xoshare's own errors carry one, anything
    /// else is an unexpected I/O failure.
    public var exitCode: ExitCode {
        (self as? any ExitCodeConvertible)?.exitCode ?? .ioError
    }
}
