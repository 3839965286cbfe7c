import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// What the spoke trusts about a connection: the hub key it pinned and the secret.
public struct TrustedConnection: Sendable {
    public var connectionID: ConnectionID
    public var hubPublicKey: [UInt8]
    public var secret: [UInt8]
    public var hubName: String

    public init(connectionID: ConnectionID, hubPublicKey: [UInt8], secret: [UInt8], hubName: String) {
        self.connectionID = connectionID
        self.hubPublicKey = hubPublicKey
        self.secret = secret
        self.hubName = hubName
    }
}

/// Receives a bundle's contents as they are read, in archive order.
public protocol BundleContentHandler: AnyObject {
    func begin(_ manifest: Manifest) throws
    func apply(segment: UnsafeRawBufferPointer, ofObject index: Int) throws
    func end(_ summary: Summary) throws
}

/// A bundle whose signature and payload hash have been checked.
///
/// Opening checks, in this order and before anything is decrypted: the header's
/// shape, that it is for this connection, the hub's signature with the pinned
/// key, that the file is as long as the header says (shorter: still being
/// copied), and the SHA-256 of the whole payload.
public final class VerifiedBundle {
    public let header: BundleHeader
    public let name: String
    private let file: FileDescriptor
    private let trust: TrustedConnection

    public init(path: String, trust: TrustedConnection, now: Int64) throws {
        name = (path as NSString).lastPathComponent
        self.trust = trust
        file = try FileDescriptor(path: path, flags: O_RDONLY, operation: "open the bundle")
        let header = try Self.signedHeader(of: file, name: name, trust: trust)
        let size = try file.size
        let expected = Int64(BundleHeader.totalCount) + Int64(header.payloadSize)
        if size < expected {
            throw XOShareError(
                .temporaryFailure,
                "The bundle \(name) is incomplete (\(size) of \(expected) bytes): it is probably still being copied; run again once the copy has finished."
            )
        }
        guard size == expected else {
            throw XOShareError.badData(
                "The bundle \(name) is longer than its signed header says (\(size), not \(expected) bytes): something was appended; it was not applied."
            )
        }
        guard header.expiresAt >= now else {
            throw XOShareError.badData(
                "The bundle \(name) expired at \(formatTime(header.expiresAt)); ask the hub for a fresh export.")
        }
        self.header = header
        try verifyPayloadHash()
    }

    /// Reads a bundle's header and checks its signature against the pinned key, and nothing more.
    ///
    /// Enough to tell a leftover copy, a replay or a snapshot after a gap, without reading the payload.
    public static func signedHeader(at path: String, trust: TrustedConnection) throws -> BundleHeader {
        let file = try FileDescriptor(path: path, flags: O_RDONLY, operation: "open the bundle")
        return try signedHeader(of: file, name: (path as NSString).lastPathComponent, trust: trust)
    }

    private static func signedHeader(of file: FileDescriptor, name: String, trust: TrustedConnection) throws
        -> BundleHeader
    {
        let size = try file.size
        guard size >= BundleHeader.totalCount else {
            throw XOShareError.badData(
                "The bundle \(name) is cut short inside its header (\(size) bytes) and can never be applied; ask the hub to export it again."
            )
        }
        let headerBytes = try file.read(count: BundleHeader.totalCount, at: 0)
        let signed = Array(headerBytes[0..<BundleHeader.signedCount])
        let signature = Array(headerBytes[BundleHeader.signedCount...])
        let header = try BundleHeader(decoding: signed, name: name)
        guard header.connectionID == trust.connectionID else {
            throw XOShareError.badData(
                "The bundle \(name) belongs to connection \(header.connectionID), not \(trust.connectionID): it was renamed or is not for this org."
            )
        }
        guard header.hubPublicKey == trust.hubPublicKey,
            isValidEd25519Signature(signature, of: signed, publicKey: trust.hubPublicKey)
        else {
            throw XOShareError.badData(
                "The bundle \(name) is not signed by hub \(trust.hubName) (\(keyFingerprint(trust.hubPublicKey))): it was altered or forged; it was not applied."
            )
        }
        guard header.isConsistent else {
            throw XOShareError.badData(
                "The bundle \(name) has a signed header whose sizes do not agree; it was not applied.")
        }
        return header
    }

    private func verifyPayloadHash() throws {
        let hasher = SHA256()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var offset = Int64(BundleHeader.totalCount)
        let end = offset + Int64(header.payloadSize)
        while offset < end {
            let want = Int(min(Int64(buffer.count), end - offset))
            let got = try buffer.withUnsafeMutableBytes {
                try file.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<want]), at: offset)
            }
            guard got == want else {
                throw XOShareError(
                    .temporaryFailure, "The bundle \(name) became shorter while it was being read; try again.")
            }
            buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<got])) }
            offset += Int64(got)
        }
        guard constantTimeEqual(hasher.finalize(), header.payloadHash) else {
            throw XOShareError.badData(
                "The bundle \(name) was altered after the hub signed it (its content does not match the signed hash); it was not applied."
            )
        }
    }

    /// Decrypts and decompresses the payload and hands each entry to `handler`.
    ///
    /// Only the entries the format defines are accepted, in their order, as
    /// plain files within the size limits; anything else stops the read.
    public func read(into handler: BundleContentHandler) throws {
        let cipher = try ChunkCipher(
            secret: trust.secret, salt: header.salt, connectionID: header.connectionID, sequence: header.sequence)
        let source = DecryptingFileSource(file: file, header: header, cipher: cipher, name: name)
        try BundleArchive(header: header, name: name).read(from: source, into: handler)
    }
}

/// The archive inside a bundle, read entry by entry from its decrypted stream and
/// held to what the signed header promises (connection, sequence, kind, size).
struct BundleArchive {
    let header: BundleHeader
    let name: String

    func read(from source: ByteSource, into handler: BundleContentHandler) throws {
        let archive = try ArchiveReader(source: source)
        let refuse: (String) -> XOShareError = { reason in
            XOShareError.badData("The bundle \(name) holds an unexpected archive: \(reason); it was not applied.")
        }
        func nextEntry() throws -> ArchiveReader.Entry? {
            let entry = try archive.nextEntry()
            guard archive.decompressedByteCount <= Int64(header.archiveSize) else {
                throw refuse("it expands past the \(header.archiveSize) bytes its header declares")
            }
            if let entry {
                guard entry.isRegularFile, !entry.hasLinkTarget else {
                    throw refuse("the entry '\(entry.name)' is not a plain file")
                }
            }
            return entry
        }
        func contents(of entry: ArchiveReader.Entry, limit: Int) throws -> [UInt8] {
            guard entry.size >= 0, entry.size <= Int64(limit) else {
                throw refuse("the entry '\(entry.name)' is larger than the \(limit) bytes allowed")
            }
            var bytes: [UInt8] = []
            bytes.reserveCapacity(Int(entry.size))
            guard try archive.readEntryData(into: &bytes, limit: limit), bytes.count == Int(entry.size) else {
                throw refuse("the entry '\(entry.name)' does not hold the size it declares")
            }
            guard archive.decompressedByteCount <= Int64(header.archiveSize) else {
                throw refuse("it expands past the \(header.archiveSize) bytes its header declares")
            }
            return bytes
        }

        func decode<T: Decodable>(_ type: T.Type, from entry: ArchiveReader.Entry) throws -> T {
            let bytes = try contents(of: entry, limit: maximumMetadataEntrySize)
            do {
                return try JSONDecoder().decode(type, from: Data(bytes))
            } catch {
                throw refuse("its \(entry.name) is not valid (\(error))")
            }
        }

        guard let first = try nextEntry(), first.name == Manifest.entryName else {
            throw refuse("it does not start with \(Manifest.entryName)")
        }
        let manifest = try decode(Manifest.self, from: first)
        try validate(manifest, refuse: refuse)
        try handler.begin(manifest)

        var segmentCounts = [Int64](repeating: 0, count: manifest.objects.count)
        var lastObject = 0
        let segmentLimit = min(manifest.segmentLimit, maximumSegmentLimit)
        while true {
            guard let entry = try nextEntry() else { throw refuse("it ends without \(Summary.entryName)") }
            if entry.name == Summary.entryName {
                let summary = try decode(Summary.self, from: entry)
                guard summary.objects.count == manifest.objects.count,
                    zip(summary.objects, segmentCounts).allSatisfy({ $0.segments == $1 })
                else { throw refuse("its summary does not match its data entries") }
                guard try nextEntry() == nil else { throw refuse("it holds entries after \(Summary.entryName)") }
                try handler.end(summary)
                return
            }
            let parts = entry.name.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[0] == "data", let object = Int(parts[1]), let segment = Int(parts[2]),
                object >= lastObject, object < manifest.objects.count, Int64(segment) == segmentCounts[object],
                entry.name == segmentEntryName(object: object, segment: segment)
            else { throw refuse("the entry '\(entry.name)' is not listed by its manifest") }
            lastObject = object
            let bytes = try contents(of: entry, limit: segmentLimit)
            try bytes.withUnsafeBytes { try handler.apply(segment: $0, ofObject: object) }
            segmentCounts[object] += 1
        }
    }

    private func validate(_ manifest: Manifest, refuse: (String) -> XOShareError) throws {
        guard manifest.format == Manifest.formatVersion else {
            throw refuse("its manifest format is \(manifest.format)")
        }
        guard manifest.connection == header.connectionID.description, manifest.sequence == header.sequence,
            manifest.kind == header.kind.name
        else {
            throw refuse("its manifest names another connection, sequence or kind than its signed header")
        }
        if header.kind == .snapshot && manifest.objects.contains(where: { !$0.complete }) {
            throw refuse("a snapshot lists an object without all its records")
        }
        if header.kind == .revocation && !manifest.objects.isEmpty {
            throw refuse("a revocation notice lists objects")
        }
        guard manifest.segmentLimit > 0 else { throw refuse("its manifest has no segment limit") }
        var tables = Set<String>()
        for object in manifest.objects {
            try validateName(object.name, what: "object", refuse: refuse)
            guard tables.insert(object.name.lowercased()).inserted else {
                throw refuse("its manifest lists the object \(object.name) twice")
            }
            guard !object.fields.isEmpty, object.fields.count <= 2000 else {
                throw refuse("the object \(object.name) has no fields or too many")
            }
            var names = Set<String>()
            for field in object.fields {
                try validateName(field.name, what: "field", refuse: refuse)
                guard field.type.utf8.count <= 200, !field.type.contains("\0") else {
                    throw refuse("the field \(field.name) has an invalid type")
                }
                guard names.insert(field.name.lowercased()).inserted else {
                    throw refuse("the object \(object.name) lists the field \(field.name) twice")
                }
            }
            guard object.fields.contains(where: { $0.name == object.primaryKey }) else {
                throw refuse("the object \(object.name) does not share its primary key")
            }
        }
    }

    private func validateName(_ name: String, what: String, refuse: (String) -> XOShareError) throws {
        guard !name.isEmpty, name.utf8.count <= 200, !name.contains("\0"),
            !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else { throw refuse("its manifest has an invalid \(what) name") }
    }
}

/// A time as a person reads it (UTC, ISO 8601).
public func formatTime(_ seconds: Int64) -> String {
    ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
}
