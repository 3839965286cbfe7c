internal import CCrypto

/// An incremental SHA-256 computation.
public final class SHA256 {
    public static let byteCount = 32
    private let context: OpaquePointer
    /// The algorithm fetched once: `EVP_sha256()` would look it up (under a lock) on every init.
    nonisolated(unsafe) private static let algorithm: OpaquePointer = {
        guard let algorithm = EVP_MD_fetch(nil, "SHA256", nil) else { fatalError("SHA-256 unavailable in libcrypto") }
        return algorithm
    }()

    public init() {
        // Allocation failure is the only way these fail; there is no way to go on.
        guard let context = EVP_MD_CTX_new() else { fatalError("out of memory for EVP_MD_CTX") }
        guard EVP_DigestInit_ex(context, Self.algorithm, nil) == 1 else {
            fatalError("SHA-256 unavailable in libcrypto")
        }
        self.context = context
    }

    deinit { EVP_MD_CTX_free(context) }

    /// The corresponding C function is `EVP_DigestUpdate`.
    @inline(__always)
    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        EVP_DigestUpdate(context, base, bytes.count)
    }

    public func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    /// Starts a new digest with the same object, after `finalize` or instead of it.
    public func reset() {
        EVP_DigestInit_ex(context, Self.algorithm, nil)
    }

    /// The digest; the object must be `reset` before it is updated again.
    public func finalize() -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Self.byteCount)
        var length: UInt32 = 0
        EVP_DigestFinal_ex(context, &digest, &length)
        return digest
    }

    /// The digest of `bytes` written to `digest` (32 bytes), with no allocation:
    /// for hashing many small inputs, one after the other.
    @inline(__always)
    public static func hash(_ bytes: UnsafeRawBufferPointer, into digest: UnsafeMutableRawBufferPointer) {
        precondition(digest.count >= byteCount)
        xo_sha256(bytes.baseAddress, bytes.count, digest.baseAddress!.assumingMemoryBound(to: UInt8.self))
    }

    public static func hash(_ bytes: [UInt8]) -> [UInt8] {
        let hasher = SHA256()
        hasher.update(bytes)
        return hasher.finalize()
    }
}

/// HMAC-SHA256 of `message` under `key`.
///
/// The corresponding C function is `HMAC`.
public func hmacSHA256(key: [UInt8], message: [UInt8]) throws -> [UInt8] {
    var out = [UInt8](repeating: 0, count: 32)
    var length: UInt32 = 0
    let result = key.withUnsafeBytes { k in
        message.withUnsafeBytes { m in
            HMAC(
                EVP_sha256(), k.baseAddress, Int32(k.count), m.baseAddress?.assumingMemoryBound(to: UInt8.self),
                m.count, &out, &length)
        }
    }
    guard result != nil, length == 32 else { throw CryptoError.fromQueue("HMAC-SHA256") }
    return out
}

/// HKDF-SHA256 (RFC 5869): derives `length` bytes from input keying material.
///
/// The corresponding C functions are `EVP_PKEY_derive` on an `EVP_PKEY_HKDF` context.
public func hkdfSHA256(secret: [UInt8], salt: [UInt8], info: [UInt8], length: Int) throws -> [UInt8] {
    guard let context = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nil) else { throw CryptoError.fromQueue("HKDF context") }
    defer { EVP_PKEY_CTX_free(context) }
    try checkCrypto(EVP_PKEY_derive_init(context), "HKDF init")
    try checkCrypto(EVP_PKEY_CTX_set_hkdf_md(context, EVP_sha256()), "HKDF digest")
    // OpenSSL refuses a zero-length salt pointer; RFC 5869 says an absent salt is HashLen zeros.
    let effectiveSalt = salt.isEmpty ? [UInt8](repeating: 0, count: 32) : salt
    try checkCrypto(EVP_PKEY_CTX_set1_hkdf_salt(context, effectiveSalt, Int32(effectiveSalt.count)), "HKDF salt")
    try checkCrypto(EVP_PKEY_CTX_set1_hkdf_key(context, secret, Int32(secret.count)), "HKDF key")
    if !info.isEmpty {
        try checkCrypto(EVP_PKEY_CTX_add1_hkdf_info(context, info, Int32(info.count)), "HKDF info")
    }
    var out = [UInt8](repeating: 0, count: length)
    var outLength = length
    try checkCrypto(EVP_PKEY_derive(context, &out, &outLength), "HKDF derive")
    return out
}
