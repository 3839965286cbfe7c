import Testing
import XOShareCore
import XOShareTestSupport

/// Known-answer tests against published vectors.
@Suite struct CryptoVectorTests {
    struct Ed25519Vector: Sendable {
        var secret: String
        var publicKey: String
        var message: String
        var signature: String
    }

    // RFC 8032, section 7.1, TEST 1, TEST 2 and TEST 3.
    static let ed25519Vectors = [
        Ed25519Vector(
            secret: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
            publicKey: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", message: "",
            signature:
                "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        ),
        Ed25519Vector(
            secret: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
            publicKey: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", message: "72",
            signature:
                "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"
        ),
        Ed25519Vector(
            secret: "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
            publicKey: "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", message: "af82",
            signature:
                "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"
        ),
    ]

    @Test(arguments: ed25519Vectors)
    func ed25519MatchesRFC8032(_ vector: Ed25519Vector) throws {
        let key = try SigningKey(seed: hexBytes(vector.secret))
        #expect(key.publicKey == hexBytes(vector.publicKey))
        let signature = try key.signature(for: hexBytes(vector.message))
        #expect(signature == hexBytes(vector.signature))
        #expect(isValidEd25519Signature(signature, of: hexBytes(vector.message), publicKey: key.publicKey))
        var altered = hexBytes(vector.message)
        altered.append(0)
        #expect(!isValidEd25519Signature(signature, of: altered, publicKey: key.publicKey))
    }

    @Test func ed25519KeySurvivesPEM() throws {
        let key = try SigningKey()
        let pem = try key.pemRepresentation()
        #expect(String(decoding: pem, as: UTF8.self).hasPrefix("-----BEGIN PRIVATE KEY-----"))
        let reloaded = try SigningKey(pem: pem)
        #expect(reloaded.publicKey == key.publicKey)
        #expect(throws: CryptoError.self) { try SigningKey(pem: Array("not a key".utf8)) }
    }

    @Test func ed25519RejectsMalformedInput() {
        #expect(!isValidEd25519Signature([1, 2, 3], of: [], publicKey: [UInt8](repeating: 0, count: 32)))
        #expect(!isValidEd25519Signature([UInt8](repeating: 0, count: 64), of: [], publicKey: [1]))
    }

    // RFC 5869, appendix A, test cases 1 and 3 (3 has empty salt and info).
    @Test func hkdfMatchesRFC5869() throws {
        let ikm = [UInt8](repeating: 0x0b, count: 22)
        let case1 = try hkdfSHA256(
            secret: ikm, salt: hexBytes("000102030405060708090a0b0c"), info: hexBytes("f0f1f2f3f4f5f6f7f8f9"),
            length: 42)
        #expect(
            case1
                == hexBytes("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"))
        let case3 = try hkdfSHA256(secret: ikm, salt: [], info: [], length: 42)
        #expect(
            case3
                == hexBytes("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"))
    }

    // FIPS 180-2 appendix B.1 and B.2.
    @Test func sha256MatchesFIPS180() {
        #expect(
            SHA256.hash(Array("abc".utf8))
                == hexBytes("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"))
        let hasher = SHA256()
        hasher.update(Array("abcdbcdecdefdefgefghfghighij".utf8))
        hasher.update(Array("hijkijkljklmklmnlmnomnopnopq".utf8))
        #expect(hasher.finalize() == hexBytes("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"))
        // The one-shot form the change tracker uses, on the same vectors and the empty input.
        let vectors: [(String, String)] = [
            ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            (
                "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
            ),
            ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ]
        for (message, digest) in vectors {
            var out = [UInt8](repeating: 0, count: 32)
            Array(message.utf8).withUnsafeBytes { bytes in out.withUnsafeMutableBytes { SHA256.hash(bytes, into: $0) } }
            #expect(out == hexBytes(digest))
        }
    }

    // RFC 4231, test case 2.
    @Test func hmacMatchesRFC4231() throws {
        let mac = try hmacSHA256(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))
        #expect(mac == hexBytes("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"))
    }

    // The GCM specification (McGrew and Viega), test case 16: AES-256 with associated data.
    @Test func aesGCMMatchesNISTVector() throws {
        let key = hexBytes("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308")
        let nonce = hexBytes("cafebabefacedbaddecaf888")
        let plaintext = hexBytes(
            "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"
        )
        let aad = hexBytes("feedfacedeadbeeffeedfacedeadbeefabaddad2")
        let expected = hexBytes(
            "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
                + "76fc6ece0f4e1768cddf8853bb2d551b")
        let cipher = try AESGCM(key: key)
        var sealed: [UInt8] = []
        try plaintext.withUnsafeBytes { try cipher.seal($0, nonce: nonce, authenticating: aad, into: &sealed) }
        #expect(sealed == expected)

        var opened: [UInt8] = []
        #expect(try sealed.withUnsafeBytes { try cipher.open($0, nonce: nonce, authenticating: aad, into: &opened) })
        #expect(opened == plaintext)

        var tampered = sealed
        tampered[5] ^= 1
        var nothing: [UInt8] = []
        #expect(
            !(try tampered.withUnsafeBytes { try cipher.open($0, nonce: nonce, authenticating: aad, into: &nothing) }))
        #expect(nothing.isEmpty)
        #expect(!(try sealed.withUnsafeBytes { try cipher.open($0, nonce: nonce, authenticating: [], into: &nothing) }))
    }

    @Test func fingerprintLooksLikeOpenSSH() throws {
        let fingerprint = keyFingerprint(hexBytes("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"))
        #expect(fingerprint.hasPrefix("SHA256:"))
        #expect(fingerprint.count == 7 + 43)
        #expect(!fingerprint.contains("="))
    }
}
