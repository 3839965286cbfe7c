import Foundation

/// The entry points the fuzzers drive (see `Fuzz/` and `make fuzz`), also run by the
/// test suite over every case kept in `fixtures/fuzz/`, so a crash once found stays fixed.
///
/// Each takes arbitrary bytes and returns whether they were accepted; anything
/// else (a crash, a hang, an unbounded allocation) is a bug.
public enum FuzzTargets {
    /// Parses bytes as an invitation code; a code that parses must survive a round trip.
    public static func invitationCode(_ bytes: [UInt8]) -> Bool {
        guard let code = try? InvitationCode(parsing: String(decoding: bytes, as: UTF8.self)) else { return false }
        precondition(
            (try? InvitationCode(parsing: code.text)) == code, "an invitation code does not survive a round trip")
        return true
    }

    /// The header the fuzzed archives are held to.
    static let archiveHeader = BundleHeader(
        kind: .snapshot, connectionID: ConnectionID(bytes: [0, 0, 0, 0, 0, 0, 0, 1]),
        hubPublicKey: [UInt8](repeating: 0, count: 32), sequence: 1,
        previousBundleHash: [UInt8](repeating: 0, count: 32),
        createdAt: 0, expiresAt: 0, salt: [UInt8](repeating: 0, count: 32), chunkSize: 1 << 20, chunkCount: 1,
        payloadSize: 0, payloadHash: [], compressedSize: 0, archiveSize: 64 << 20)

    /// Reads bytes as the decrypted payload of a bundle (a tar.zst archive), decoding every record.
    public static func bundleArchive(_ bytes: [UInt8]) -> Bool {
        let handler = DecodingHandler()
        do {
            try BundleArchive(header: archiveHeader, name: "fuzz").read(from: MemorySource(bytes), into: handler)
            return true
        } catch {
            return false
        }
    }

    /// Reads bytes as the signed part of a bundle header.
    public static func bundleHeader(_ bytes: [UInt8]) -> Bool {
        guard let header = try? BundleHeader(decoding: bytes, name: "fuzz") else { return false }
        precondition(
            header.signedBytes == Array(bytes.prefix(BundleHeader.signedCount)), "a header does not round-trip")
        return true
    }

    /// A valid archive of the fuzzed kind, as a seed for the corpus.
    public static func sampleArchive(records: [[SQLValue]]) throws -> [UInt8] {
        let sink = MemorySink()
        let object = ObjectSchema(
            name: "Account", primaryKey: "Id",
            fields: [FieldSchema(name: "Id", type: "INTEGER"), FieldSchema(name: "Name", type: "TEXT")])
        let manifest = Manifest(
            format: 1, hubOrg: "Fuzz", connection: archiveHeader.connectionID.description, sequence: 1, createdAt: 0,
            kind: "snapshot", objects: [ManifestObject(object, complete: true)], segmentLimit: 1 << 20)
        let stream = try RecordStream(
            object: 0, objectName: object.name, spoolDirectory: FileManager.default.temporaryDirectory.path,
            modificationTime: 0, segmentTarget: 256)
        for record in records {
            stream.segment.append(RecordCodec.Operation.upsert.rawValue)
            for value in record { RecordCodec.append(value, to: &stream.segment) }
            try stream.endRecord()
        }
        _ = try BundleArchiveWriter.write(manifest: manifest, streams: [stream], modificationTime: 0, to: sink)
        return sink.bytes
    }
}

/// Decodes every record of every data entry, as the spoke would before binding them.
private final class DecodingHandler: BundleContentHandler {
    var fieldCounts: [Int] = []
    func begin(_ manifest: Manifest) throws { fieldCounts = manifest.objects.map(\.fields.count) }
    func apply(segment: UnsafeRawBufferPointer, ofObject index: Int) throws {
        var reader = ByteReader(segment) { XOShareError.badData($0) }
        while !reader.isAtEnd {
            let operation = try reader.readByte()
            let count = operation == RecordCodec.Operation.upsert.rawValue ? fieldCounts[index] : 1
            for _ in 0..<count { _ = try RecordCodec.readValue(from: &reader) }
        }
    }
    func end(_ summary: Summary) throws {}
}

/// A byte source over memory, handed out in one piece from storage it owns.
final class MemorySource: ByteSource {
    private let storage: UnsafeMutableRawBufferPointer
    private var isDone = false

    init(_ bytes: [UInt8]) {
        storage = .allocate(byteCount: max(bytes.count, 1), alignment: 16)
        bytes.withUnsafeBytes { storage.copyMemory(from: $0) }
        isDone = bytes.isEmpty
    }

    deinit { storage.deallocate() }

    func read() throws -> UnsafeRawBufferPointer {
        guard !isDone else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        isDone = true
        return UnsafeRawBufferPointer(storage)
    }
}

/// A byte sink that keeps what it is given.
final class MemorySink: ByteSink {
    private(set) var bytes: [UInt8] = []
    func write(_ data: UnsafeRawBufferPointer) throws { bytes.append(contentsOf: data) }
}
