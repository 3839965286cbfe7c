internal import CCrypto

/// A failure reported by OpenSSL's libcrypto, with the operation that failed
/// and OpenSSL's own reason, read from its error queue at the failure site.
public struct CryptoError: ExitCodeConvertible {
    public var operation: String
    public var reason: String

    public var exitCode: ExitCode { .dataError }

    public var description: String { "Cryptographic operation \(operation) failed: \(reason)." }

    /// Builds the error from OpenSSL's error queue, and empties the queue.
    static func fromQueue(_ operation: String) -> CryptoError {
        var reasons: [String] = []
        while case let code = ERR_get_error(), code != 0 {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            reasons.append(buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        }
        return CryptoError(
            operation: operation, reason: reasons.isEmpty ? "no reason given" : reasons.joined(separator: "; "))
    }
}

/// The one checking helper for libcrypto: its functions return 1 on success.
@inline(__always)
func checkCrypto(_ result: Int32, _ operation: @autoclosure () -> String) throws {
    guard result == 1 else { throw CryptoError.fromQueue(operation()) }
}

/// Cryptographically secure random bytes.
///
/// The corresponding C function is `RAND_bytes`.
public func randomBytes(_ count: Int) throws -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    try checkCrypto(RAND_bytes(&bytes, Int32(count)), "RAND_bytes")
    return bytes
}

/// Compares two byte strings in time that does not depend on where they differ.
public func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    return a.withUnsafeBytes { x in b.withUnsafeBytes { y in CRYPTO_memcmp(x.baseAddress, y.baseAddress, a.count) == 0 }
    }
}
