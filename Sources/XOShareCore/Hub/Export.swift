import Foundation

/// A bundle the hub wrote for one spoke.
public struct ExportedBundle: Sendable {
    public var spoke: String
    public var bundle: WrittenBundle
}

extension Org {
    public static let defaultBundleLifetimeDays = 30

    /// Picks up acceptances in `drop`, then writes one snapshot bundle for every Connected spoke.
    ///
    /// - Throws: `XOShareError` (bad data) after the export when an acceptance was refused;
    ///   any failure to write leaves no bundle under a final name and no state advanced.
    public func export(to drop: DropDirectory, compressionThreads: Int = 0) throws -> [ExportedBundle] {
        let refusedAcceptances = try collectAcceptances(from: drop)
        let connections = try state.spokeConnections().filter { $0.state == .connected }
        try removeStaleTemporaryFiles(in: drop, for: connections.map(\.id))
        var exported: [ExportedBundle] = []
        if !connections.isEmpty {
            let database = try openDatabase(readOnly: true)
            let objects = try currentSchemas(in: database)
            // One read transaction: every bundle of this run shows the same moment of the database.
            try database.execute("BEGIN")
            defer { try? database.execute("COMMIT") }
            for connection in connections {
                let bundle = try exportSnapshot(
                    for: connection, objects: objects, from: database, into: drop, threads: compressionThreads)
                exported.append(ExportedBundle(spoke: connection.spokeName, bundle: bundle))
            }
        }
        if refusedAcceptances > 0 {
            throw XOShareError.badData(
                "\(refusedAcceptances) acceptance file(s) in \(drop.path) were refused (see above); those spokes stay Pending."
            )
        }
        return exported
    }

    /// The shared objects as they are now, checked against the database.
    func currentSchemas(in database: Database) throws -> [ObjectSchema] {
        try state.shares().map { share in
            let schema: ObjectSchema
            do {
                schema = try Self.shareableSchema(of: share.object, in: database)
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

    private func exportSnapshot(
        for connection: SpokeConnection, objects: [ObjectSchema], from database: Database, into drop: DropDirectory,
        threads: Int
    ) throws -> WrittenBundle {
        let now = environment.now()
        let sequence = connection.lastSequence + 1
        let parameters = BundleParameters(
            connectionID: connection.id, secret: connection.secret, sequence: sequence,
            previousBundleHash: connection.lastBundleHash ?? [UInt8](repeating: 0, count: 32), createdAt: now,
            expiresAt: now + Int64(Self.defaultBundleLifetimeDays) * 86_400, compressionThreads: threads)
        let manifest = Manifest(
            format: Manifest.formatVersion, hubOrg: name, connection: connection.id.description, sequence: sequence,
            createdAt: now, kind: "snapshot", objects: objects, segmentLimit: maximumSegmentLimit)
        let written = try BundleWriter.write(
            into: drop, parameters: parameters, signingKey: try signingKey.get(), manifest: manifest
        ) { content in
            for (index, object) in objects.enumerated() {
                try content.beginObject(index)
                let columns = object.fields.map { quoteIdentifier($0.name) }.joined(separator: ", ")
                let statement = try database.prepare(
                    "SELECT \(columns) FROM \(quoteIdentifier(object.name)) WHERE \(quoteIdentifier(object.primaryKey)) IS NOT NULL"
                )
                let count = Int32(object.fields.count)
                while try statement.step() {
                    content.segment.append(RecordCodec.Operation.upsert.rawValue)
                    for column in 0..<count { RecordCodec.appendColumn(statement, column, to: &content.segment) }
                    try content.endRecord()
                }
            }
        }
        try state.recordExport(connection.id, sequence: sequence, bundleHash: written.header.bundleHash, at: now)
        environment.report(
            .bundleWritten(
                spoke: connection.spokeName, file: (written.path as NSString).lastPathComponent, sequence: sequence,
                records: written.recordCounts.reduce(0, +), bytes: written.fileSize))
        return written
    }

    /// Removes temporary files a killed export of this hub left behind; we hold the lock, so none is in use.
    private func removeStaleTemporaryFiles(in drop: DropDirectory, for connections: [ConnectionID]) throws {
        for name in try Files.list(drop.path) where name.hasPrefix(DropDirectory.temporaryPrefix) {
            if connections.contains(where: { name.contains("xo-bundle-\($0)-") }) {
                unlink(drop.pathOf(name))
            }
        }
    }
}
