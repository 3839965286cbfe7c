internal import CCrypto

/// AES-256-GCM with a 12-byte nonce and a 16-byte tag, reusing one cipher
/// context for many messages under the same key.
public final class AESGCM {
    public static let keyCount = 32
    public static let nonceCount = 12
    public static let tagCount = 16

    private let context: OpaquePointer
    private let key: [UInt8]

    public init(key: [UInt8]) throws {
        precondition(key.count == Self.keyCount, "AES-256 needs a 32-byte key")
        guard let context = EVP_CIPHER_CTX_new() else { throw CryptoError.fromQueue("EVP_CIPHER_CTX_new") }
        self.context = context
        self.key = key
    }

    deinit { EVP_CIPHER_CTX_free(context) }

    /// Encrypts `plaintext` and appends the ciphertext followed by the tag to `output`.
    public func seal(
        _ plaintext: UnsafeRawBufferPointer, nonce: [UInt8], authenticating aad: [UInt8], into output: inout [UInt8]
    ) throws {
        precondition(nonce.count == Self.nonceCount)
        try checkCrypto(EVP_EncryptInit_ex(context, EVP_aes_256_gcm(), nil, key, nonce), "AES-GCM init")
        var length: Int32 = 0
        if !aad.isEmpty {
            try checkCrypto(EVP_EncryptUpdate(context, nil, &length, aad, Int32(aad.count)), "AES-GCM aad")
        }
        let start = output.count
        output.append(contentsOf: repeatElement(0, count: plaintext.count + Self.tagCount))
        try output.withUnsafeMutableBufferPointer { buffer in
            let out = buffer.baseAddress! + start
            if !plaintext.isEmpty {
                try checkCrypto(
                    EVP_EncryptUpdate(
                        context, out, &length, plaintext.baseAddress!.assumingMemoryBound(to: UInt8.self),
                        Int32(plaintext.count)), "AES-GCM encrypt")
            }
            var finalLength: Int32 = 0
            try checkCrypto(EVP_EncryptFinal_ex(context, out + plaintext.count, &finalLength), "AES-GCM final")
            try checkCrypto(
                EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_GET_TAG, Int32(Self.tagCount), out + plaintext.count),
                "AES-GCM tag")
        }
    }

    /// Decrypts `sealed` (ciphertext followed by tag) and appends the plaintext to `output`.
    ///
    /// - Returns: `false` when the tag does not authenticate; `output` is then unchanged.
    public func open(
        _ sealed: UnsafeRawBufferPointer, nonce: [UInt8], authenticating aad: [UInt8], into output: inout [UInt8]
    ) throws -> Bool {
        precondition(nonce.count == Self.nonceCount)
        guard sealed.count >= Self.tagCount else { return false }
        let cipherCount = sealed.count - Self.tagCount
        try checkCrypto(EVP_DecryptInit_ex(context, EVP_aes_256_gcm(), nil, key, nonce), "AES-GCM init")
        var length: Int32 = 0
        if !aad.isEmpty {
            try checkCrypto(EVP_DecryptUpdate(context, nil, &length, aad, Int32(aad.count)), "AES-GCM aad")
        }
        let start = output.count
        output.append(contentsOf: repeatElement(0, count: cipherCount))
        let base = sealed.baseAddress!.assumingMemoryBound(to: UInt8.self)
        let authentic = try output.withUnsafeMutableBufferPointer { buffer -> Bool in
            let out = buffer.baseAddress! + start
            if cipherCount > 0 {
                try checkCrypto(EVP_DecryptUpdate(context, out, &length, base, Int32(cipherCount)), "AES-GCM decrypt")
            }
            let tag = UnsafeMutableRawPointer(mutating: base + cipherCount)
            try checkCrypto(
                EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_TAG, Int32(Self.tagCount), tag), "AES-GCM tag")
            var finalLength: Int32 = 0
            return EVP_DecryptFinal_ex(context, out + cipherCount, &finalLength) == 1
        }
        if !authentic {
            ERR_clear_error()
            output.removeSubrange(start...)
        }
        return authentic
    }
}
