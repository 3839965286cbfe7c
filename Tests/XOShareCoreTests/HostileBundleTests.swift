import Foundation
import Testing
import XOShareTestSupport

@testable import XOShareCore

/// Bundles a hostile hub (or anyone holding its key and the secret) could craft:
/// genuine signature and encryption, but an archive or records built to harm.
/// Each is refused with bad data, and the spoke's database and state stay as they were.
@Suite struct HostileBundleTests {
    let orgs: ConnectedOrgs
    let connection: SpokeConnection

    init() throws {
        orgs = try ConnectedOrgs()
        _ = try orgs.hub.export(to: orgs.drop)  // connects; its bundle is removed below
        for path in try orgs.bundlePaths() { try FileManager.default.removeItem(atPath: path) }
        connection = try #require(try orgs.hub.state.spokeConnection(named: "globex"))
    }

    func manifest(objects: [ManifestObject]? = nil) -> Manifest {
        let account = ObjectSchema(
            name: "Account", primaryKey: "Id",
            fields: [FieldSchema(name: "Id", type: "INTEGER"), FieldSchema(name: "Name", type: "TEXT")])
        return Manifest(
            format: 1, hubOrg: "Acme Corp", connection: connection.id.description, sequence: 1, createdAt: 0,
            kind: "snapshot", objects: objects ?? [ManifestObject(account, complete: true)], segmentLimit: 1 << 20)
    }

    func json<T: Encodable>(_ value: T) throws -> [UInt8] { Array(try JSONEncoder().encode(value)) }

    func record(_ values: [SQLValue], operation: UInt8 = 1) -> [UInt8] {
        var writer = ByteWriter()
        writer.append(operation)
        for value in values { RecordCodec.append(value, to: &writer) }
        return writer.bytes
    }

    /// Writes a signed, encrypted bundle with exactly these archive entries, and syncs it.
    func expectRefused(
        declaredArchiveSize: UInt64? = nil, _ because: String, sourceLocation: SourceLocation = #_sourceLocation,
        _ entries: (ArchiveWriter) throws -> Void
    ) throws {
        let now = Int64(Date().timeIntervalSince1970)
        var parameters = BundleParameters(
            kind: .snapshot, connectionID: connection.id, secret: connection.secret, sequence: 1,
            previousBundleHash: [UInt8](repeating: 0, count: 32), createdAt: now, expiresAt: now + 3600)
        parameters.declaredArchiveSize = declaredArchiveSize
        let bundle = try BundleWriter.write(
            into: orgs.drop, parameters: parameters, signingKey: try orgs.hub.signingKey.get(), archive: entries)
        try bundle.publish()
        defer { try? FileManager.default.removeItem(atPath: bundle.path) }
        let before = try orgs.spokeFingerprint()
        let outcome = try orgs.spoke.sync(from: orgs.drop)
        #expect(outcome.applied == 0, "\(because): applied", sourceLocation: sourceLocation)
        #expect(outcome.failures.map(\.exitCode) == [.dataError], "\(because)", sourceLocation: sourceLocation)
        #expect(try orgs.spokeFingerprint() == before, "\(because): something changed", sourceLocation: sourceLocation)
    }

    func add(_ archive: ArchiveWriter, _ name: String, _ bytes: [UInt8], kind: ArchiveWriter.EntryKind = .file) throws {
        try bytes.withUnsafeBytes { try archive.addEntry(named: name, kind: kind, contents: $0) }
    }

    @Test func entriesOutsideTheLayoutAreRefused() throws {
        let manifestBytes = try json(manifest())
        let summary = try json(Summary(objects: [.init(records: 1, segments: 1)]))
        let oneRecord = record([.integer(1), .string("x")])
        try expectRefused("a path with ..") { try add($0, "../manifest.json", manifestBytes) }
        try expectRefused("an absolute path") { try add($0, "/tmp/manifest.json", manifestBytes) }
        try expectRefused("an unlisted entry") { archive in
            try add(archive, "manifest.json", manifestBytes)
            try add(archive, "../../etc/cron.d/evil", oneRecord)
        }
        try expectRefused("a symbolic link") { archive in
            try add(archive, "manifest.json", manifestBytes)
            try add(archive, "data/0/0", [], kind: .symbolicLink(target: "/etc/passwd"))
        }
        try expectRefused("a hard link") { archive in
            try add(archive, "manifest.json", manifestBytes)
            try add(archive, "data/0/0", [], kind: .hardLink(target: "manifest.json"))
        }
        try expectRefused("a device") { archive in
            try add(archive, "manifest.json", manifestBytes)
            try add(archive, "data/0/0", [], kind: .characterDevice)
        }
        try expectRefused("a directory") { archive in
            try add(archive, "manifest.json", manifestBytes)
            try add(archive, "data/0", [], kind: .directory)
        }
        try expectRefused("entries out of order") { archive in
            try add(archive, "manifest.json", manifestBytes)
            try add(archive, "data/0/1", oneRecord)
            try add(archive, "summary.json", summary)
        }
        try expectRefused("an entry after the summary") { archive in
            try add(archive, "manifest.json", manifestBytes)
            try add(archive, "data/0/0", oneRecord)
            try add(archive, "summary.json", summary)
            try add(archive, "data/0/1", oneRecord)
        }
        try expectRefused("no summary") { archive in
            try add(archive, "manifest.json", manifestBytes)
            try add(archive, "data/0/0", oneRecord)
        }
        try expectRefused("a summary that does not add up") { archive in
            try add(archive, "manifest.json", manifestBytes)
            try add(archive, "data/0/0", oneRecord + oneRecord)
            try add(archive, "summary.json", summary)
        }
    }

    @Test func aDecompressionBombIsStoppedAtTheDeclaredSize() throws {
        let zeros = [UInt8](repeating: 0, count: 8 << 20)
        try expectRefused(declaredArchiveSize: 64 * 1024, "8 MiB declared as 64 KiB") { archive in
            try add(archive, "manifest.json", try json(manifest()))
            try add(archive, "data/0/0", zeros)
        }
        try expectRefused("a manifest past its 16 MiB limit") { archive in
            try add(archive, "manifest.json", [UInt8](repeating: 0x20, count: 17 << 20))
        }
        try expectRefused("a data entry past the 64 MiB limit") { archive in
            try add(archive, "manifest.json", try json(manifest()))
            try add(archive, "data/0/0", [UInt8](repeating: 0, count: 65 << 20))
        }
    }

    @Test func malformedManifestsAndRecordsAreRefused() throws {
        let summary = try json(Summary(objects: [.init(records: 1, segments: 1)]))
        try expectRefused("a manifest that is not JSON") { try add($0, "manifest.json", Array("{\"format\": 1,".utf8)) }
        try expectRefused("a manifest for another connection") { archive in
            var other = manifest()
            other.connection = "0000000000000000"
            try add(archive, "manifest.json", try json(other))
        }
        for (because, bytes) in [
            ("an unknown operation", record([.integer(1), .string("x")], operation: 9)),
            ("a record cut short", Array(record([.integer(1), .string("Globex")]).dropLast(3))),
            ("an unknown value type", [1, 1, 2, 7]),
            ("a length past the end", [1, 1, 2, 3, 0xff, 0xff, 0x7f]),
            ("text where the integer key must be", record([.string("not a number"), .string("x")])),
            ("a NULL key", record([.null, .string("x")])),
            ("too few values", record([.integer(1)])),
        ] {
            try expectRefused(because) { archive in
                try add(archive, "manifest.json", try json(manifest()))
                try add(archive, "data/0/0", bytes)
                try add(archive, "summary.json", summary)
            }
        }
    }

    @Test func namesBuiltToBreakSQLAreRefusedOrTakenLiterally() throws {
        func object(_ name: String, field: String = "Name") -> ManifestObject {
            ManifestObject(
                ObjectSchema(
                    name: name, primaryKey: "Id",
                    fields: [FieldSchema(name: "Id", type: "INTEGER"), FieldSchema(name: field, type: "TEXT")]),
                complete: true)
        }
        let empty = try json(Summary(objects: [.init(records: 0, segments: 0)]))
        for (because, hostile) in [
            ("a NUL in a name", object("Acc\u{0}ount")), ("a control character", object("Acc\nount")),
            ("a 300-byte name", object(String(repeating: "x", count: 300))),
            ("an empty field name", object("T", field: "")),
        ] {
            try expectRefused(because) { archive in
                try add(archive, "manifest.json", try json(manifest(objects: [hostile])))
                try add(archive, "summary.json", empty)
            }
        }
        // Quotes, semicolons and brackets are only characters: the table is made with exactly that name.
        let name = "x\"; DROP TABLE Supplier; --]"
        let now = Int64(Date().timeIntervalSince1970)
        let parameters = BundleParameters(
            kind: .snapshot, connectionID: connection.id, secret: connection.secret, sequence: 1,
            previousBundleHash: [UInt8](repeating: 0, count: 32), createdAt: now, expiresAt: now + 3600)
        let bundle = try BundleWriter.write(
            into: orgs.drop, parameters: parameters, signingKey: try orgs.hub.signingKey.get(),
            manifest: manifest(objects: [object(name, field: "it's [odd]")]),
            streams: [try stream(of: [record([.integer(1), .string("Robert'); DROP TABLE Students;--")])])])
        try bundle.publish()
        #expect(try orgs.spoke.sync(from: orgs.drop).applied == 1)
        let spokeDatabase = try Database(path: orgs.directory.file("spoke.db"), mode: .readOnly)
        #expect(try spokeDatabase.tableExists("Supplier"))
        #expect(
            try spokeDatabase.rows("SELECT \(quoteIdentifier("it's [odd]")) FROM \(quoteIdentifier(name + "__xo"))")
                == [[.string("Robert'); DROP TABLE Students;--")]])
    }

    /// The records of the first object of a manifest, encoded for a bundle.
    func stream(of records: [[UInt8]]) throws -> RecordStream {
        let stream = try RecordStream(
            object: 0, objectName: "test", spoolDirectory: orgs.directory.path, modificationTime: 0)
        for record in records {
            stream.segment.append(record)
            try stream.endRecord()
        }
        return stream
    }

    /// A genuine bundle of the fixtures with small chunks, so that it has many.
    func smallChunkBundle(sequence: Int64) throws -> WrittenBundle {
        let now = Int64(Date().timeIntervalSince1970)
        var parameters = BundleParameters(
            kind: .snapshot, connectionID: connection.id, secret: connection.secret, sequence: sequence,
            previousBundleHash: [UInt8](repeating: 0, count: 32), createdAt: now, expiresAt: now + 3600)
        parameters.chunkSize = 64
        let bundle = try BundleWriter.write(
            into: orgs.drop, parameters: parameters, signingKey: try orgs.hub.signingKey.get(), manifest: manifest(),
            streams: [try stream(of: (1...50).map { record([.integer(Int64($0)), .string("Account number \($0)")]) })])
        try bundle.publish()
        return bundle
    }

    /// Re-signs a bundle whose payload was changed, as only the hub could: the payload hash then
    /// matches, so what is left to catch the change is the chunks' own authentication.
    func resign(_ path: String, payload: [UInt8]) throws {
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        var header = try BundleHeader(decoding: Array(bytes[0..<BundleHeader.signedCount]), name: "x")
        header.payloadHash = SHA256.hash(payload)
        let signed = header.signedBytes
        let signature = try orgs.hub.signingKey.get().signature(for: signed)
        try Data(signed + signature + payload).write(to: URL(fileURLWithPath: path))
    }

    @Test func splicedAndReorderedBundlesAreRefused() throws {
        let first = try smallChunkBundle(sequence: 1)
        let second = try smallChunkBundle(sequence: 2)
        let a = Array(try Data(contentsOf: URL(fileURLWithPath: first.path)))
        let b = Array(try Data(contentsOf: URL(fileURLWithPath: second.path)))
        try FileManager.default.removeItem(atPath: second.path)
        let before = try orgs.spokeFingerprint()
        let sealedChunk = 64 + AESGCM.tagCount
        let payload = Array(a[BundleHeader.totalCount...])
        #expect(payload.count > 4 * sealedChunk)

        func expectRefusedFile(_ bytes: [UInt8], _ because: String, resigned: Bool = false) throws {
            try Data(bytes).write(to: URL(fileURLWithPath: first.path))
            if resigned { try resign(first.path, payload: Array(bytes[BundleHeader.totalCount...])) }
            let outcome = try orgs.spoke.sync(from: orgs.drop)
            #expect(outcome.failures.map(\.exitCode) == [.dataError], "\(because)")
            #expect(try orgs.spokeFingerprint() == before, "\(because)")
        }
        // Two valid bundles spliced: the header of one, the payload of the other.
        try expectRefusedFile(Array(a[..<BundleHeader.totalCount]) + Array(b[BundleHeader.totalCount...]), "spliced")
        // Two chunks swapped, caught by the payload hash, and even when re-signed, by the chunks' nonces.
        var swapped = payload
        swapped.replaceSubrange(0..<sealedChunk, with: payload[sealedChunk..<(2 * sealedChunk)])
        swapped.replaceSubrange(sealedChunk..<(2 * sealedChunk), with: payload[0..<sealedChunk])
        let reordered = Array(a[..<BundleHeader.totalCount]) + swapped
        try expectRefusedFile(reordered, "chunks swapped")
        try expectRefusedFile(reordered, "chunks swapped and re-signed", resigned: true)
        // The last chunk dropped and the header re-signed: the new last chunk is not marked last.
        var shorter = payload
        let lastCount = payload.count - (payload.count / sealedChunk) * sealedChunk
        shorter.removeLast(lastCount == 0 ? sealedChunk : lastCount)
        var header = try BundleHeader(decoding: Array(a[0..<BundleHeader.signedCount]), name: "x")
        header.chunkCount -= 1
        header.payloadSize = UInt64(shorter.count)
        header.compressedSize = header.payloadSize - header.chunkCount * UInt64(AESGCM.tagCount)
        header.payloadHash = SHA256.hash(shorter)
        let signed = header.signedBytes
        try expectRefusedFile(
            signed + (try orgs.hub.signingKey.get().signature(for: signed)) + shorter, "last chunk dropped")
        // The genuine bundle still applies.
        try Data(a).write(to: URL(fileURLWithPath: first.path))
        #expect(try orgs.spoke.sync(from: orgs.drop).applied == 1)
    }
}
