import Foundation

/// What one `spoke sync` did.
public struct SyncOutcome: Sendable {
    public var applied = 0
    public var skipped = 0
    /// The first failure of each hub whose import stopped.
    public var failures: [XOShareError] = []
}

extension Org {
    /// The suffix of the tables that hold a hub's shared objects on the spoke.
    public static let copySuffix = "__xo"

    /// Verifies and applies, in sequence order, every new bundle in `drop` from each accepted hub.
    ///
    /// A hub's import stops at its first bundle that cannot be applied; other hubs go on.
    /// Each bundle is applied in one transaction of the org database that also records it as applied.
    public func sync(from drop: DropDirectory) throws -> SyncOutcome {
        var outcome = SyncOutcome()
        for hub in try state.acceptedHubs() {
            let (bundles, inProgress) = try drop.bundles(for: hub.id)
            var appliedSequence = hub.appliedSequence
            var appliedHash = hub.appliedBundleHash
            var stopped = false
            var sawNew = false
            for (sequence, file) in bundles {
                if sequence <= appliedSequence {
                    outcome.skipped += 1
                    environment.report(.bundleSkipped(hub: hub.name, file: file, reason: "already applied"))
                    continue
                }
                sawNew = true
                do {
                    let trust = TrustedConnection(
                        connectionID: hub.id, hubPublicKey: hub.hubPublicKey, secret: hub.secret, hubName: hub.name)
                    let bundle = try VerifiedBundle(path: drop.pathOf(file), trust: trust, now: environment.now())
                    guard bundle.header.sequence == sequence else {
                        throw XOShareError.badData(
                            "The bundle \(file) holds sequence \(bundle.header.sequence), not the \(sequence) its name says: it was renamed; it was not applied."
                        )
                    }
                    if sequence == appliedSequence + 1, let appliedHash, bundle.header.previousBundleHash != appliedHash
                    {
                        throw XOShareError.badData(
                            "The bundle \(file) does not follow the last bundle applied from \(hub.name); it was not applied."
                        )
                    }
                    let records = try apply(bundle, from: hub)
                    appliedSequence = sequence
                    appliedHash = bundle.header.bundleHash
                    outcome.applied += 1
                    environment.report(.bundleApplied(hub: hub.name, file: file, sequence: sequence, records: records))
                } catch {
                    let failure = error as? XOShareError ?? XOShareError(error.exitCode, String(describing: error))
                    environment.report(.bundleRefused(hub: hub.name, file: file, reason: failure.message))
                    outcome.failures.append(failure)
                    stopped = true
                    break
                }
            }
            if !stopped, let copying = inProgress.first {
                let failure = XOShareError(
                    .temporaryFailure,
                    "The bundle \(copying) from \(hub.name) is still being written or copied; run again once it is complete."
                )
                environment.report(.bundleSkipped(hub: hub.name, file: copying, reason: "still being copied"))
                outcome.failures.append(failure)
            } else if !sawNew && inProgress.isEmpty {
                environment.report(.nothingNew(hub: hub.name))
            }
        }
        return outcome
    }

    /// Applies one verified bundle in a single transaction, recording it as applied in the same transaction.
    ///
    /// - Returns: the number of records applied.
    private func apply(_ bundle: VerifiedBundle, from hub: AcceptedHub) throws -> Int64 {
        let database = try openDatabase(readOnly: false)
        try database.run("ATTACH DATABASE ? AS xostate", [.string(home.statePath)])
        return try database.transaction {
            let applier = SnapshotApplier(database: database, hub: hub, bundleName: bundle.name)
            try bundle.read(into: applier)
            try database.run(
                """
                UPDATE xostate.accepted_hub SET state = ?, applied_sequence = ?, applied_bundle_hash = ?,
                    applied_at = ?, bundle_created_at = ? WHERE id = ?
                """,
                [
                    .string(ConnectionState.connected.rawValue), .integer(bundle.header.sequence),
                    .blob(bundle.header.bundleHash), .integer(environment.now()), .integer(bundle.header.createdAt),
                    .string(hub.id.description),
                ])
            return applier.appliedRecords
        }
    }
}

/// Makes the spoke's copies of one hub's objects exactly what a snapshot bundle holds.
///
/// Each object lands in `<Object>__xo` with the hub's field names, declared types
/// and primary key; a table whose shape changed at the hub is rebuilt, and the
/// tables of objects the hub no longer shares are dropped.
final class SnapshotApplier: BundleContentHandler {
    private let database: Database
    private let hub: AcceptedHub
    private let bundleName: String
    private var manifest: Manifest?
    private var statements: [Statement] = []
    private var deleteStatements: [Statement] = []
    private var tables: [String] = []
    private var recordCounts: [Int64] = []
    private(set) var appliedRecords: Int64 = 0

    init(database: Database, hub: AcceptedHub, bundleName: String) {
        self.database = database
        self.hub = hub
        self.bundleName = bundleName
    }

    func begin(_ manifest: Manifest) throws {
        self.manifest = manifest
        let connection = SQLValue.string(hub.id.description)
        let owned = try database.rows(
            "SELECT object, table_name FROM xostate.hub_table WHERE connection_id = ?", [connection])
        for object in manifest.objects {
            let table = object.name + Org.copySuffix
            let owners = try database.rows(
                """
                SELECT h.name FROM xostate.hub_table t JOIN xostate.accepted_hub h ON h.id = t.connection_id
                WHERE t.table_name = ? COLLATE NOCASE AND t.connection_id <> ?
                """, [.string(table), connection])
            if let other = owners.first {
                throw XOShareError.configuration(
                    "Hub \(hub.name) shares \(object.name), but the table \(table) already holds the copy from hub \(other[0].string); the bundle \(bundleName) was not applied."
                )
            }
            let isOurs = owned.contains { $0[1].string.lowercased() == table.lowercased() }
            let existing = try database.rows(
                "SELECT name FROM main.sqlite_schema WHERE type = 'table' AND name = ? COLLATE NOCASE", [.string(table)]
            )
            if !existing.isEmpty && !isOurs {
                throw XOShareError.configuration(
                    "The org database already has its own table \(existing[0][0].string), where hub \(hub.name)'s \(object.name) would go; rename that table. The bundle \(bundleName) was not applied."
                )
            }
            if !existing.isEmpty,
                try Org.tableSchema(of: table, in: database)
                    == ObjectSchema(
                        name: existing[0][0].string, primaryKey: object.primaryKey, fields: object.fields)
            {
                try database.execute("DELETE FROM main.\(quoteIdentifier(table))")
            } else {
                if !existing.isEmpty { try database.execute("DROP TABLE main.\(quoteIdentifier(table))") }
                try database.execute(createTableSQL(table, object))
            }
            try database.run(
                """
                INSERT INTO xostate.hub_table(connection_id, object, table_name, row_count) VALUES (?, ?, ?, 0)
                ON CONFLICT(connection_id, object) DO UPDATE SET table_name = excluded.table_name
                """, [connection, .string(object.name), .string(table)])
            tables.append(table)
            statements.append(try database.prepare(upsertSQL(table, object)))
            deleteStatements.append(
                try database.prepare(
                    "DELETE FROM main.\(quoteIdentifier(table)) WHERE \(quoteIdentifier(object.primaryKey)) = ?"))
        }
        recordCounts = Array(repeating: 0, count: manifest.objects.count)
        let kept = Set(manifest.objects.map(\.name))
        for row in owned where !kept.contains(row[0].string) {
            try database.execute("DROP TABLE IF EXISTS main.\(quoteIdentifier(row[1].string))")
            try database.run(
                "DELETE FROM xostate.hub_table WHERE connection_id = ? AND object = ?", [connection, row[0]])
        }
    }

    private func createTableSQL(_ table: String, _ object: ObjectSchema) -> String {
        let columns = object.fields.map { field in
            var column = quoteIdentifier(field.name)
            if !field.type.isEmpty { column += " " + quoteType(field.type) }
            if field.name == object.primaryKey { column += " NOT NULL PRIMARY KEY" }
            return column
        }
        return "CREATE TABLE main.\(quoteIdentifier(table)) (\(columns.joined(separator: ", ")))"
    }

    /// A declared type is kept as the hub wrote it when it is plain words and
    /// numbers (`VARCHAR(80)`, `UNSIGNED BIG INT`); anything else is quoted, which
    /// SQLite reads as the same type name and which cannot break the statement.
    private func quoteType(_ type: String) -> String {
        let plain = type.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || " (),_".contains($0)) }
        let balanced = type.filter { $0 == "(" }.count == type.filter { $0 == ")" }.count
        return plain && balanced ? type : quoteIdentifier(type)
    }

    private func upsertSQL(_ table: String, _ object: ObjectSchema) -> String {
        let names = object.fields.map { quoteIdentifier($0.name) }
        let placeholders = Array(repeating: "?", count: names.count).joined(separator: ", ")
        let updates = object.fields.filter { $0.name != object.primaryKey }.map {
            "\(quoteIdentifier($0.name)) = excluded.\(quoteIdentifier($0.name))"
        }
        let conflict =
            updates.isEmpty ? "DO NOTHING" : "DO UPDATE SET " + updates.joined(separator: ", ")
        return """
            INSERT INTO main.\(quoteIdentifier(table)) (\(names.joined(separator: ", "))) VALUES (\(placeholders))
            ON CONFLICT(\(quoteIdentifier(object.primaryKey))) \(conflict)
            """
    }

    func apply(segment: UnsafeRawBufferPointer, ofObject index: Int) throws {
        guard let manifest else { return }
        let object = manifest.objects[index]
        let fieldCount = Int32(object.fields.count)
        let upsert = statements[index]
        let delete = deleteStatements[index]
        let name = bundleName
        var reader = ByteReader(segment) { reason in
            XOShareError.badData(
                "The bundle \(name) holds a malformed record of \(object.name): \(reason); it was not applied.")
        }
        do {
            while !reader.isAtEnd {
                switch RecordCodec.Operation(rawValue: try reader.readByte()) {
                case .upsert:
                    for parameter in 1...fieldCount {
                        try RecordCodec.bindNextValue(from: &reader, to: upsert, at: parameter)
                    }
                    _ = try upsert.step()
                    upsert.rewind()
                case .delete:
                    try RecordCodec.bindNextValue(from: &reader, to: delete, at: 1)
                    _ = try delete.step()
                    delete.rewind()
                case nil:
                    throw reader.malformed("unknown record operation")
                }
                recordCounts[index] += 1
            }
        } catch let error as DatabaseError where error.isRefusedValue {
            throw XOShareError.badData(
                "The bundle \(bundleName) holds a record that \(tables[index]) refuses (\(error.message)); it was not applied."
            )
        }
    }

    func end(_ summary: Summary) throws {
        guard summary.objects.map(\.records) == recordCounts else {
            throw XOShareError.badData(
                "The bundle \(bundleName) holds another number of records than its summary says; it was not applied.")
        }
        appliedRecords = recordCounts.reduce(0, +)
        let connection = SQLValue.string(hub.id.description)
        for (object, table) in zip(manifest?.objects ?? [], tables) {
            let count = try database.rows("SELECT count(*) FROM main.\(quoteIdentifier(table))")[0][0]
            try database.run(
                "UPDATE xostate.hub_table SET row_count = ? WHERE connection_id = ? AND object = ?",
                [count, connection, .string(object.name)])
        }
    }
}
