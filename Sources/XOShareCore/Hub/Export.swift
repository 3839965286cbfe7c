import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A bundle the hub wrote for one spoke.
public struct ExportedBundle: Sendable {
    public var spoke: String
    public var bundle: WrittenBundle
}

/// How `hub export` runs.
public struct ExportOptions: Sendable {
    /// Write complete snapshots instead of changes.
    public var full = false
    /// With `full`: only for these spokes (all when empty).
    public var fullSpokes: [String] = []
    /// Days until the bundles expire.
    public var bundleLifetimeDays = Org.defaultBundleLifetimeDays
    /// zstd worker threads. Off by default: at 1M rows a worker saved ~0.4 s of 7.5 but
    /// doubled the peak memory (72 MiB instead of 39).
    public var compressionThreads = 0

    public init(full: Bool = false, fullSpokes: [String] = [], bundleLifetimeDays: Int = Org.defaultBundleLifetimeDays)
    {
        self.full = full
        self.fullSpokes = fullSpokes
        self.bundleLifetimeDays = bundleLifetimeDays
    }
}

extension Org {
    public static let defaultBundleLifetimeDays = 30

    /// Picks up acceptances and receipts in `drop`, then writes a bundle for every
    /// Connected spoke that has something new, and a notice for every revoked one.
    ///
    /// All bundles of a run are written under temporary names and recorded in
    /// one transaction of the state database, then renamed into place; a run
    /// killed between the two is finished by the next one.
    /// - Throws: `XOShareError` (bad data) after the export when an acceptance or a
    ///   receipt was refused; any failure to write leaves no bundle under a
    ///   final name and no state advanced.
    public func export(to drop: DropDirectory, options: ExportOptions = ExportOptions()) throws -> [ExportedBundle] {
        guard options.bundleLifetimeDays > 0, options.bundleLifetimeDays <= 3650 else {
            throw XOShareError.usage("A bundle lasts 1 to 3650 days.")
        }
        for name in options.fullSpokes where try state.spokeConnection(named: name) == nil {
            throw XOShareError.configuration("There is no spoke connection named \(name); see 'xoshare status'.")
        }
        try finishInterruptedExport(in: drop)
        var refused = try collectAcceptances(from: drop)
        refused += try collectReceipts(from: drop)

        let work = try openWorkConnection()
        var written: [ExportedBundle] = []
        do {
            try work.transaction {
                let state = StateStore(connection: work)
                let connections = try state.spokeConnections()
                let active = connections.filter { $0.state == .connected }
                if !active.isEmpty {
                    let objects = try currentSchemas(in: work)
                    let tracker = try ChangeTracker(connection: work)
                    let update = try tracker.update(objects: objects)
                    for connection in active {
                        let full =
                            options.full
                            && (options.fullSpokes.isEmpty || options.fullSpokes.contains(connection.spokeName))
                        if let bundle = try exportChanges(
                            for: connection, objects: objects, update: update, tracker: tracker, full: full,
                            work: work, into: drop, options: options)
                        {
                            written.append(ExportedBundle(spoke: connection.spokeName, bundle: bundle))
                        }
                    }
                    try tracker.discardTombstones(
                        in: Array(update.tables.values),
                        seenBy: try state.spokeConnections().filter { $0.state == .connected }.map(\.exportedVersion))
                }
                for connection in connections
                where connection.state == .revoked && connection.noticeSequence == nil && connection.acceptedAt != nil {
                    let notice = try writeRevocationNotice(for: connection, state: state, into: drop)
                    written.append(ExportedBundle(spoke: connection.spokeName, bundle: notice))
                }
            }
        } catch {
            for exported in written { exported.bundle.discard() }
            throw error
        }
        environment.checkpoint?("export.committed")
        for exported in written {
            try exported.bundle.publish()
            environment.checkpoint?("export.published")
            environment.report(
                .bundleWritten(
                    spoke: exported.spoke, file: (exported.bundle.path as NSString).lastPathComponent,
                    sequence: exported.bundle.header.sequence, kind: exported.bundle.header.kind.name,
                    records: exported.bundle.recordCounts.reduce(0, +), bytes: exported.bundle.fileSize))
        }
        if refused > 0 {
            throw XOShareError.badData("\(refused) file(s) in \(drop.path) were refused (see above).")
        }
        return written
    }

    /// A connection to the state database with the org database attached read-only as `org`.
    func openWorkConnection() throws -> Database {
        guard Files.exists(databasePath) else {
            throw XOShareError.noInput(
                "The org database \(databasePath) is missing; restore it, or set up the org again with 'xoshare init'.")
        }
        let work = try Database(path: home.statePath, mode: .readWrite)
        try work.run("ATTACH DATABASE ? AS org", [.string(readOnlyURI(databasePath))])
        return work
    }

    /// The shared objects as they are now, checked against the org database.
    func currentSchemas(in work: Database) throws -> [ObjectSchema] {
        try StateStore(connection: work).shares().map { share in
            let schema: ObjectSchema
            do {
                schema = try Self.shareableSchema(of: share.object, in: work, schema: "org")
            } catch {
                throw XOShareError.configuration(
                    "\(share.object) is shared but can no longer be read from the org database (\(error)); share it again or unshare it."
                )
            }
            guard schema.primaryKey == share.primaryKey else {
                throw XOShareError.configuration(
                    "The primary key of \(share.object) changed from \(share.primaryKey) to \(schema.primaryKey); run 'xoshare hub share \(share.object)' again."
                )
            }
            let fields = try share.fields.map { field in
                guard let column = schema.fields.first(where: { $0.name == field }) else {
                    throw XOShareError.configuration(
                        "The shared field \(share.object).\(field) no longer exists in the org database; run 'xoshare hub share' again for \(share.object)."
                    )
                }
                return column
            }
            return ObjectSchema(name: schema.name, primaryKey: schema.primaryKey, fields: fields)
        }
    }

    /// Writes the bundle one connection needs, or nothing when nothing changed for it.
    private func exportChanges(
        for connection: SpokeConnection, objects: [ObjectSchema], update: ChangeTracker.Update,
        tracker: ChangeTracker, full: Bool, work: Database, into drop: DropDirectory, options: ExportOptions
    ) throws -> WrittenBundle? {
        let since = connection.exportedVersion
        let isSnapshot = full || since == 0
        let manifestObjects = objects.map { object in
            ManifestObject(object, complete: isSnapshot || (update.resetVersions[object.name] ?? 0) > since)
        }
        let sharesHash = try Self.sharesHash(objects)
        if !isSnapshot, sharesHash == connection.exportedSharesHash,
            !manifestObjects.contains(where: \.complete),
            try !update.tables.values.contains(where: { try tracker.hasChanges(in: $0, after: since) })
        {
            environment.report(.nothingToExport(spoke: connection.spokeName, sequence: connection.lastSequence))
            return nil
        }
        let now = environment.now()
        let sequence = connection.lastSequence + 1
        let kind: BundleHeader.Kind = isSnapshot ? .snapshot : .delta
        var parameters = BundleParameters(
            kind: kind, connectionID: connection.id, secret: connection.secret, sequence: sequence,
            previousBundleHash: connection.lastBundleHash ?? [UInt8](repeating: 0, count: 32), createdAt: now,
            expiresAt: now + Int64(options.bundleLifetimeDays) * 86_400)
        parameters.compressionThreads = options.compressionThreads
        let manifest = Manifest(
            format: Manifest.formatVersion, hubOrg: name, connection: connection.id.description, sequence: sequence,
            createdAt: now, kind: kind.name, objects: manifestObjects, segmentLimit: maximumSegmentLimit)
        let written = try BundleWriter.write(
            into: drop, parameters: parameters, signingKey: try signingKey.get(), manifest: manifest
        ) { content in
            if let checkpoint = environment.checkpoint { content.onRecord = { checkpoint("export.record") } }
            for (index, object) in manifestObjects.enumerated() {
                try content.beginObject(index)
                if object.complete {
                    try Self.writeAllRecords(of: object.schema, from: work, to: content)
                } else {
                    try Self.writeChangedRecords(
                        of: object.schema, tracked: update.tables[object.name] ?? "", after: since, from: work,
                        to: content)
                }
            }
        }
        environment.checkpoint?("export.written")
        do {
            try StateStore(connection: work).recordExport(
                connection.id, sequence: sequence, bundleHash: written.header.bundleHash, version: update.version,
                sharesHash: sharesHash, at: now)
        } catch {
            written.discard()
            throw error
        }
        return written
    }

    /// A hash of the shared objects' shapes, to notice an object shared or unshared.
    static func sharesHash(_ objects: [ObjectSchema]) throws -> [UInt8] {
        SHA256.hash(try objects.flatMap { try ChangeTracker.schemaHash($0) })
    }

    private static func writeAllRecords(of object: ObjectSchema, from work: Database, to content: BundleContentWriter)
        throws
    {
        let columns = object.fields.map { quoteIdentifier($0.name) }.joined(separator: ", ")
        let statement = try work.prepare(
            "SELECT \(columns) FROM org.\(quoteIdentifier(object.name)) WHERE \(quoteIdentifier(object.primaryKey)) IS NOT NULL"
        )
        try writeUpserts(from: statement, fieldCount: Int32(object.fields.count), to: content)
    }

    private static func writeChangedRecords(
        of object: ObjectSchema, tracked table: String, after version: Int64, from work: Database,
        to content: BundleContentWriter
    ) throws {
        let key = quoteIdentifier(object.primaryKey)
        let columns = object.fields.map { "t." + quoteIdentifier($0.name) }.joined(separator: ", ")
        let changed = try work.prepare(
            """
            SELECT \(columns) FROM main.\(table) AS s JOIN org.\(quoteIdentifier(object.name)) AS t ON t.\(key) = s.key
            WHERE s.version > ? AND s.hash IS NOT NULL
            """)
        try changed.bind([.integer(version)])
        try writeUpserts(from: changed, fieldCount: Int32(object.fields.count), to: content)
        let deleted = try work.prepare("SELECT key FROM main.\(table) WHERE version > ? AND hash IS NULL")
        try deleted.bind([.integer(version)])
        while try deleted.step() {
            content.segment.append(RecordCodec.Operation.delete.rawValue)
            RecordCodec.appendColumn(deleted, 0, to: &content.segment)
            try content.endRecord()
        }
    }

    private static func writeUpserts(from statement: Statement, fieldCount: Int32, to content: BundleContentWriter)
        throws
    {
        while try statement.step() {
            content.segment.append(RecordCodec.Operation.upsert.rawValue)
            for column in 0..<fieldCount { RecordCodec.appendColumn(statement, column, to: &content.segment) }
            try content.endRecord()
        }
    }

    /// Writes the last bundle of a revoked connection, telling the spoke it ended.
    func writeRevocationNotice(for connection: SpokeConnection, state: StateStore, into drop: DropDirectory) throws
        -> WrittenBundle
    {
        let now = environment.now()
        let sequence = connection.lastSequence + 1
        let parameters = BundleParameters(
            kind: .revocation, connectionID: connection.id, secret: connection.secret, sequence: sequence,
            previousBundleHash: connection.lastBundleHash ?? [UInt8](repeating: 0, count: 32), createdAt: now,
            expiresAt: now + Int64(3650) * 86_400)
        let manifest = Manifest(
            format: Manifest.formatVersion, hubOrg: name, connection: connection.id.description, sequence: sequence,
            createdAt: now, kind: BundleHeader.Kind.revocation.name, objects: [], segmentLimit: maximumSegmentLimit,
            purge: connection.purgeOnRevoke)
        let written = try BundleWriter.write(
            into: drop, parameters: parameters, signingKey: try signingKey.get(), manifest: manifest
        ) { _ in }
        do {
            try state.recordRevocationNotice(
                connection.id, sequence: sequence, bundleHash: written.header.bundleHash, at: now)
        } catch {
            written.discard()
            throw error
        }
        return written
    }

    /// Finishes what a killed export left: a bundle recorded in the state but
    /// still under its temporary name is renamed into place; any other
    /// temporary bundle of this hub is removed. We hold the lock, so none is in use.
    func finishInterruptedExport(in drop: DropDirectory) throws {
        let connections = try state.spokeConnections()
        for name in try Files.list(drop.path) {
            guard let finalName = DropDirectory.finalName(ofTemporary: name),
                let connection = connections.first(where: { finalName.hasPrefix("xo-bundle-\($0.id)-") })
            else { continue }
            let temporary = drop.pathOf(name)
            let recorded = drop.bundleName(connection.id, sequence: connection.lastSequence)
            if finalName == recorded, !Files.exists(drop.pathOf(finalName)),
                let hash = connection.lastBundleHash,
                let header = try? BundleHeader(
                    decoding: try FileDescriptor(path: temporary, flags: O_RDONLY).read(
                        count: BundleHeader.signedCount, at: 0),
                    name: name),
                header.bundleHash == hash
            {
                try Files.rename(temporary, to: drop.pathOf(finalName))
                try Files.synchronizeDirectory(drop.path)
                environment.report(
                    .warning("finished publishing \(finalName), which an interrupted export had written"))
            } else {
                unlink(temporary)
            }
        }
    }
}
