internal import CCrypto

/// An Ed25519 key pair held by libcrypto; freed when the object goes away.
public final class SigningKey {
    private let key: OpaquePointer

    /// Generates a new random key pair.
    public convenience init() throws {
        try self.init(seed: try randomBytes(32))
    }

    /// The key pair for a 32-byte private seed (RFC 8032's "secret key").
    ///
    /// The corresponding C function is `EVP_PKEY_new_raw_private_key`.
    public init(seed: [UInt8]) throws {
        guard seed.count == 32, let key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, seed, 32) else {
            throw CryptoError.fromQueue("loading an Ed25519 private key")
        }
        self.key = key
    }

    /// Reads a PKCS#8 PEM private key, as written by `pemRepresentation`.
    public init(pem: [UInt8]) throws {
        guard let bio = pem.withUnsafeBytes({ BIO_new_mem_buf($0.baseAddress, Int32($0.count)) }) else {
            throw CryptoError.fromQueue("BIO_new_mem_buf")
        }
        defer { BIO_free(bio) }
        guard let key = PEM_read_bio_PrivateKey(bio, nil, nil, nil) else {
            throw CryptoError.fromQueue("reading the PEM private key")
        }
        guard EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519 else {
            EVP_PKEY_free(key)
            throw CryptoError(operation: "reading the PEM private key", reason: "the key is not an Ed25519 key")
        }
        self.key = key
    }

    deinit { EVP_PKEY_free(key) }

    /// The key as unencrypted PKCS#8 PEM text (`openssl pkey` reads it).
    public func pemRepresentation() throws -> [UInt8] {
        guard let bio = BIO_new(BIO_s_mem()) else { throw CryptoError.fromQueue("BIO_new") }
        defer { BIO_free(bio) }
        try checkCrypto(PEM_write_bio_PrivateKey(bio, key, nil, nil, 0, nil, nil), "writing the PEM private key")
        var data: UnsafeMutablePointer<CChar>?
        let count = xo_bio_get_mem_data(bio, &data)
        guard let data, count > 0 else { throw CryptoError.fromQueue("BIO_get_mem_data") }
        return Array(UnsafeRawBufferPointer(start: data, count: Int(count)))
    }

    /// The 32-byte public key.
    public var publicKey: [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length = 32
        EVP_PKEY_get_raw_public_key(key, &out, &length)
        return out
    }

    /// Signs `message` (pure Ed25519, no pre-hash).
    ///
    /// The corresponding C function is `EVP_DigestSign`.
    public func signature(for message: [UInt8]) throws -> [UInt8] {
        guard let context = EVP_MD_CTX_new() else { throw CryptoError.fromQueue("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(context) }
        try checkCrypto(EVP_DigestSignInit(context, nil, nil, nil, key), "Ed25519 sign init")
        var signature = [UInt8](repeating: 0, count: 64)
        var length = 64
        try checkCrypto(EVP_DigestSign(context, &signature, &length, message, message.count), "Ed25519 sign")
        return signature
    }
}

/// Checks an Ed25519 signature against a 32-byte public key.
///
/// - Returns: `true` only for a valid signature; any malformed input gives `false`.
/// The corresponding C function is `EVP_DigestVerify`.
public func isValidEd25519Signature(_ signature: [UInt8], of message: [UInt8], publicKey: [UInt8]) -> Bool {
    guard signature.count == 64, publicKey.count == 32,
        let key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, publicKey, 32)
    else {
        ERR_clear_error()
        return false
    }
    defer { EVP_PKEY_free(key) }
    guard let context = EVP_MD_CTX_new() else { return false }
    defer { EVP_MD_CTX_free(context) }
    guard EVP_DigestVerifyInit(context, nil, nil, nil, key) == 1 else {
        ERR_clear_error()
        return false
    }
    let valid = EVP_DigestVerify(context, signature, 64, message, message.count) == 1
    ERR_clear_error()
    return valid
}

/// A short text a person can compare by eye: "SHA256:" and the unpadded
/// base64 of the public key's SHA-256, as OpenSSH shows key fingerprints.
public func keyFingerprint(_ publicKey: [UInt8]) -> String {
    "SHA256:" + String(base64Encode(SHA256.hash(publicKey)).filter { $0 != "=" })
}
