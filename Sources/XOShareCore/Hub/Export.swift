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
    /// Whether the export uses a second thread: the calling thread reads the org
    /// database while another hashes and compares records and a third compresses
    /// data entries. When false, the same stages run one after the other on the
    /// calling thread (same bundles, slower).
    public var usesMoreThreads = true
    /// With change capture on: compare every record anyway, as without it.
    public var rescan = false

    public init(
        full: Bool = false, fullSpokes: [String] = [], bundleLifetimeDays: Int = Org.defaultBundleLifetimeDays,
        rescan: Bool = false
    ) {
        self.full = full
        self.fullSpokes = fullSpokes
        self.bundleLifetimeDays = bundleLifetimeDays
        self.rescan = rescan
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
        for object in try updateCaptureTriggers() {
            environment.report(
                .warning(
                    "the change-capture triggers of \(object) were missing or had been changed (was the table rebuilt?); they were written again, and \(object) is compared in full this time"
                ))
        }

        let work = try openWorkConnection()
        let now = environment.now()
        var written: [ExportedBundle] = []
        var capture: CaptureRun?
        do {
            try work.transaction {
                let state = StateStore(connection: work)
                let connections = try state.spokeConnections()
                let active = connections.filter { $0.state == .connected }
                if !active.isEmpty {
                    let objects = try currentSchemas(in: work)
                    capture = try beginCaptureRun(in: work, rescan: options.rescan)
                    let tracker = try ChangeTracker(connection: work)
                    let readers = active.map { connection in
                        ChangeTracker.Reader(
                            since: connection.exportedVersion,
                            snapshot: connection.exportedVersion == 0
                                || (options.full
                                    && (options.fullSpokes.isEmpty || options.fullSpokes.contains(connection.spokeName)))
                        )
                    }
                    let worker = options.usesMoreThreads ? FrameWorker() : nil
                    let makeStream = { (index: Int) throws -> RecordStream in
                        let stream = try RecordStream(
                            object: index, objectName: objects[index].name, spoolDirectory: self.home.path,
                            modificationTime: now, worker: worker)
                        if let checkpoint = self.environment.checkpoint {
                            stream.onRecord = { checkpoint("export.record") }
                        }
                        return stream
                    }
                    let update = try tracker.update(
                        objects: objects, readers: readers, pipelined: options.usesMoreThreads,
                        logged: capture?.logged, makeStream: makeStream)
                    if let capture { try finishCaptureRun(capture, version: update.version, in: work) }
                    for (name, reason) in update.trackedWithSQL {
                        // A lock is this run's accident; a key order is the object's, every run: say so.
                        guard case .keysOutOfOrder = reason else { continue }
                        environment.report(
                            .warning(
                                "\(name) is compared with its last export the slower way: SQLite sorts its primary key in another order than its bytes (a collation such as NOCASE, or a UTF-16 database)"
                            ))
                    }
                    let sharesHash = try Self.sharesHash(objects)
                    for (connection, reader) in zip(active, readers) {
                        if let bundle = try exportChanges(
                            for: connection, reader: reader, update: update, sharesHash: sharesHash, tracker: tracker,
                            makeStream: makeStream, work: work, into: drop, now: now, options: options)
                        {
                            written.append(ExportedBundle(spoke: connection.spokeName, bundle: bundle))
                        }
                    }
                    try tracker.discardTombstones(
                        in: update.objects.map(\.table),
                        seenBy: try state.spokeConnections().filter { $0.state == .connected }.map(\.exportedVersion))
                }
                for connection in connections
                where connection.state == .revoked && connection.noticeSequence == nil && connection.acceptedAt != nil {
                    let notice = try writeRevocationNotice(for: connection, state: state, into: drop, now: now)
                    written.append(ExportedBundle(spoke: connection.spokeName, bundle: notice))
                }
            }
        } catch {
            for exported in written { exported.bundle.discard() }
            throw error
        }
        environment.checkpoint?("export.committed")
        if let capture { advanceCaptureLog(capture) }
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
        for connection: SpokeConnection, reader: ChangeTracker.Reader, update: ChangeTracker.Update,
        sharesHash: [UInt8], tracker: ChangeTracker, makeStream: (Int) throws -> RecordStream, work: Database,
        into drop: DropDirectory,
        now: Int64, options: ExportOptions
    ) throws -> WrittenBundle? {
        let manifestObjects = update.objects.indices.map { index in
            ManifestObject(update.objects[index].schema, complete: update.isComplete(index, for: reader))
        }
        // The streams the scan wrote serve every connection at the same point; one that
        // missed runs gets its changes read from the tracking table.
        let streams = try update.objects.enumerated().map { index, object in
            if manifestObjects[index].complete {
                guard let complete = object.complete else {
                    preconditionFailure("the scan writes the whole object when a reader gets it complete")
                }
                return complete
            }
            if reader.since == update.version - 1, let latest = object.latestChanges { return latest }
            let stream = try makeStream(index)
            try tracker.writeChanges(of: object.schema, tracked: object.table, after: reader.since, to: stream)
            return stream
        }
        if !reader.snapshot, sharesHash == connection.exportedSharesHash,
            !manifestObjects.contains(where: \.complete), streams.allSatisfy({ $0.recordCount == 0 })
        {
            environment.report(.nothingToExport(spoke: connection.spokeName, sequence: connection.lastSequence))
            return nil
        }
        let sequence = connection.lastSequence + 1
        let kind: BundleHeader.Kind = reader.snapshot ? .snapshot : .delta
        let parameters = BundleParameters(
            kind: kind, connectionID: connection.id, secret: connection.secret, sequence: sequence,
            previousBundleHash: connection.lastBundleHash ?? [UInt8](repeating: 0, count: 32), createdAt: now,
            expiresAt: now + Int64(options.bundleLifetimeDays) * 86_400)
        let manifest = Manifest(
            format: Manifest.formatVersion, hubOrg: name, connection: connection.id.description, sequence: sequence,
            createdAt: now, kind: kind.name, objects: manifestObjects, segmentLimit: maximumSegmentLimit)
        let written = try BundleWriter.write(
            into: drop, parameters: parameters, signingKey: try signingKey.get(), manifest: manifest, streams: streams)
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

    /// Writes the last bundle of a revoked connection, telling the spoke it ended.
    func writeRevocationNotice(
        for connection: SpokeConnection, state: StateStore, into drop: DropDirectory, now: Int64
    ) throws -> WrittenBundle {
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
            into: drop, parameters: parameters, signingKey: try signingKey.get(), manifest: manifest, streams: [])
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
