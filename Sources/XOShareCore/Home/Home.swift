import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The org's state folder (`--home`): identity key, state database and lock.
public struct Home: Sendable {
    public let path: String

    public init(path: String) { self.path = Files.absolute(path) }

    public var identityKeyPath: String { path + "/identity.key" }
    public var statePath: String { path + "/state.db" }
    public var lockPath: String { path + "/lock" }

    public var isInitialised: Bool { Files.exists(statePath) && Files.exists(identityKeyPath) }

    /// Refuses to go on when `init` has not been run for this home.
    func requireInitialised() throws {
        guard isInitialised else {
            throw XOShareError.configuration(
                "No xoshare org is set up in \(path); run 'xoshare init --org NAME --db PATH' first, or point --home or XOSHARE_HOME at the right folder."
            )
        }
    }

    /// Loads the org's private key, refusing a key file others can read (as ssh does).
    func loadSigningKey() throws -> SigningKey {
        let file = try FileDescriptor(path: identityKeyPath, flags: O_RDONLY, operation: "open the private key")
        let mode = try file.permissions
        guard mode & 0o077 == 0 else {
            throw XOShareError(
                .noPermission,
                "The private key \(identityKeyPath) can be read by other users (mode \(String(mode, radix: 8))); run 'chmod 600 \(identityKeyPath)' and try again."
            )
        }
        let size = try file.size
        return try SigningKey(pem: try file.read(count: Int(size), at: 0))
    }
}

/// An exclusive lock on a home, held while a command changes anything there.
///
/// The lock is an `flock` on `HOME/lock`, released by the kernel when the
/// process ends, however it ends; the file records the holder's pid for the
/// message a second run prints.
public final class HomeLock {
    private let file: FileDescriptor

    /// Takes the lock, waiting up to `timeout` seconds for another run to finish.
    ///
    /// - Throws: `XOShareError` (temporary failure) naming the process that holds it.
    public init(home: Home, timeout: Double) throws {
        file = try FileDescriptor(
            path: home.lockPath, flags: O_RDWR | O_CREAT, mode: 0o600, operation: "open the lock file")
        let deadline = Date().addingTimeInterval(timeout)
        while flock(file.rawValue, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR else {
                throw SystemError(errno: errno, operation: "lock", path: home.lockPath)
            }
            if Date() >= deadline {
                let holder = String(decoding: (try? file.read(count: 32, at: 0)) ?? [], as: UTF8.self)
                    .trimmingCharacters(in: .whitespacesAndNewlines)
                throw XOShareError(
                    .temporaryFailure,
                    "Another xoshare run\(holder.isEmpty ? "" : " (pid \(holder))") is using \(home.path); try again when it has finished."
                )
            }
            usleep(100_000)
        }
        ftruncate(file.rawValue, 0)
        try file.write(Array("\(getpid())\n".utf8), at: 0)
    }

    deinit {
        ftruncate(file.rawValue, 0)
        flock(file.rawValue, LOCK_UN)
    }
}
