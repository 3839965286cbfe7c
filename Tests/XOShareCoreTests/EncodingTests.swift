import Testing
import XOShareCore
import XOShareTestSupport

@Suite struct EncodingTests {
    @Test func crockfordBase32RoundTripsAndForgivesLookAlikes() throws {
        for length in 0..<40 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            #expect(try CrockfordBase32.decode(CrockfordBase32.encode(bytes)) == bytes)
        }
        let encoded = CrockfordBase32.encode([0x00, 0x44, 0x32, 0x14, 0xc7])
        #expect(encoded == "01234567")
        #expect(try CrockfordBase32.decode("O1234567") == CrockfordBase32.decode("0I23-4567"))
        #expect(try CrockfordBase32.decode("0l23 4567") == [0x00, 0x44, 0x32, 0x14, 0xc7])
        #expect(throws: XOShareError.self) { try CrockfordBase32.decode("01U3") }
    }

    @Test func base64MatchesRFC4648() {
        let cases = [
            "": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=",
            "foobar": "Zm9vYmFy",
        ]
        for (plain, encoded) in cases {
            #expect(base64Encode(Array(plain.utf8)) == encoded)
            #expect(base64Decode(encoded) == Array(plain.utf8))
        }
        #expect(base64Decode("Zm9v!") == nil)
        #expect(base64Decode("Zg=a") == nil)
    }

    @Test func varintsRoundTripAtTheExtremes() throws {
        let values: [Int64] = [0, 1, -1, 63, -64, 64, 127, 128, -129, 1 << 40, .max, .min, .max - 1, .min + 1]
        var writer = ByteWriter()
        for value in values { writer.appendSignedVarint(value) }
        writer.appendVarint(.max)
        try writer.bytes.withUnsafeBytes { raw throws in
            var reader = ByteReader(raw) { XOShareError(.dataError, $0) }
            for value in values { #expect(try reader.readSignedVarint() == value) }
            #expect(try reader.readVarint() == .max)
            #expect(reader.isAtEnd)
            #expect(throws: XOShareError.self) { try reader.readByte() }
        }
    }

    @Test func overlongVarintIsRefused() {
        let bytes = [UInt8](repeating: 0xff, count: 11)
        bytes.withUnsafeBytes { raw in
            var reader = ByteReader(raw) { XOShareError(.dataError, $0) }
            #expect(throws: XOShareError.self) { try reader.readVarint() }
        }
    }

    @Test func recordValuesKeepTheirStorageClassAndBits() throws {
        let values: [SQLValue] = [
            .null, .integer(0), .integer(.max), .integer(.min), .real(-0.0), .real(.greatestFiniteMagnitude),
            .real(.leastNonzeroMagnitude), .real(0.1), .string(""), .string("Emoji 🚀 and 東京"),
            .text([0xff, 0x00, 0x41]),
            .blob([]), .blob([0, 1, 2, 255]),
        ]
        var writer = ByteWriter()
        for value in values { RecordCodec.append(value, to: &writer) }
        try writer.bytes.withUnsafeBytes { raw throws in
            var reader = ByteReader(raw) { XOShareError(.dataError, $0) }
            for value in values {
                let read = try RecordCodec.readValue(from: &reader)
                #expect(read.isIdentical(to: value), "\(read) differs from \(value)")
            }
            #expect(reader.isAtEnd)
        }
        #expect(!SQLValue.real(-0.0).isIdentical(to: .real(0.0)))
        #expect(!SQLValue.blob([]).isIdentical(to: .string("")))
    }

    @Test func bundleHeaderRoundTripsAndRefusesOtherFiles() throws {
        let header = BundleHeader(
            kind: .snapshot, connectionID: ConnectionID(bytes: [1, 2, 3, 4, 5, 6, 7, 8]),
            hubPublicKey: [UInt8](repeating: 7, count: 32), sequence: 42,
            previousBundleHash: [UInt8](repeating: 9, count: 32),
            createdAt: 1_800_000_000, expiresAt: 1_900_000_000, salt: [UInt8](repeating: 3, count: 32),
            chunkSize: 1 << 20,
            chunkCount: 2, payloadSize: 1_500_032, payloadHash: [UInt8](repeating: 5, count: 32),
            compressedSize: 1_500_000,
            archiveSize: 4_000_000)
        let bytes = header.signedBytes
        #expect(bytes.count == BundleHeader.signedCount)
        #expect(try BundleHeader(decoding: bytes, name: "x") == header)
        var other = bytes
        other[0] = UInt8(ascii: "Y")
        #expect(throws: XOShareError.self) { try BundleHeader(decoding: other, name: "x") }
        var reserved = bytes
        reserved[BundleHeader.signedCount - 1] = 1
        #expect(throws: XOShareError.self) { try BundleHeader(decoding: reserved, name: "x") }
        #expect(throws: XOShareError.self) { try BundleHeader(decoding: Array(bytes.prefix(100)), name: "x") }
    }

    @Test func identifiersAreQuotedWhateverTheyHold() throws {
        let directory = try TemporaryDirectory()
        let database = try Database(path: directory.file("q.db"), mode: .readWriteCreate)
        let hostile = "x\"; DROP TABLE t; --]"
        try database.execute("CREATE TABLE t(\(quoteIdentifier(hostile)) TEXT)")
        try database.run("INSERT INTO t VALUES (?)", [.string("it's")])
        let rows = try database.rows("SELECT \(quoteIdentifier(hostile)) FROM t")
        #expect(rows == [[.string("it's")]])
        #expect(try database.tableExists("t"))
    }
}
