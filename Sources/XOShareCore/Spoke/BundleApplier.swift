/// Applies one bundle's content to the spoke's copies of a hub's objects.
///
/// Each object lands in `<prefix><Object>__xo` with the hub's field names,
/// declared types and primary key. An object the bundle holds whole replaces
/// the copy (a table whose shape changed is rebuilt); an object holding changes
/// gets its upserts and deletes. The tables of objects the hub no longer shares
/// are dropped. Runs inside the caller's transaction.
final class BundleApplier: BundleContentHandler {
    private let database: Database
    private let ledger: SpokeLedger
    private let hub: AcceptedHub
    private let bundleName: String
    private var manifest: Manifest?
    private var upserts: [Statement] = []
    private var deletes: [Statement] = []
    private var tables: [String] = []
    private var recordCounts: [Int64] = []
    private(set) var appliedRecords: Int64 = 0
    private(set) var purged = false
    /// Called after each record (tests use it to interrupt a run mid-bundle).
    var onRecord: (() -> Void)?

    init(database: Database, ledger: SpokeLedger, hub: AcceptedHub, bundleName: String) {
        self.database = database
        self.ledger = ledger
        self.hub = hub
        self.bundleName = bundleName
    }

    func begin(_ manifest: Manifest) throws {
        self.manifest = manifest
        recordCounts = Array(repeating: 0, count: manifest.objects.count)
        let owned = try ledger.tables(of: hub.id)
        if manifest.kind == BundleHeader.Kind.revocation.name {
            if manifest.purge == true {
                for (object, table) in owned { try drop(table, object: object) }
                purged = true
            }
            return
        }
        for object in manifest.objects {
            let table = hub.tablePrefix + object.name + Org.copySuffix
            try prepareTable(table, for: object, owned: owned)
            tables.append(table)
            upserts.append(try database.prepare(upsertSQL(table, object.schema)))
            deletes.append(
                try database.prepare(
                    "DELETE FROM main.\(quoteIdentifier(table)) WHERE \(quoteIdentifier(object.primaryKey)) = ?"))
        }
        let kept = Set(manifest.objects.map(\.name))
        for (object, table) in owned where !kept.contains(object) { try drop(table, object: object) }
    }

    private func prepareTable(_ table: String, for object: ManifestObject, owned: [(object: String, table: String)])
        throws
    {
        if let owner = try ledger.owner(ofTable: table), owner != hub.id {
            throw XOShareError.configuration(
                "Hub \(hub.name) shares \(object.name), but the table \(table) already holds the copy from another hub; accept one of them again with a --prefix. The bundle \(bundleName) was not applied."
            )
        }
        let existing = try database.rows(
            "SELECT name FROM main.sqlite_schema WHERE type = 'table' AND name = ? COLLATE NOCASE", [.string(table)])
        let isOurs = owned.contains { $0.table.lowercased() == table.lowercased() }
        if !existing.isEmpty && !isOurs {
            throw XOShareError.configuration(
                "The org database already has its own table \(existing[0][0].string), where hub \(hub.name)'s \(object.name) would go; rename that table, or accept the hub with a --prefix. The bundle \(bundleName) was not applied."
            )
        }
        let matches =
            try !existing.isEmpty
            && Org.tableSchema(of: table, in: database)
                == ObjectSchema(name: existing[0][0].string, primaryKey: object.primaryKey, fields: object.fields)
        if object.complete {
            if matches {
                try database.execute("DELETE FROM main.\(quoteIdentifier(table))")
            } else {
                if !existing.isEmpty { try database.execute("DROP TABLE main.\(quoteIdentifier(table))") }
                try database.execute(createTableSQL(table, object.schema))
            }
        } else if !matches {
            throw XOShareError.badData(
                "The bundle \(bundleName) holds changes to \(object.name), but this org's copy \(table) does not have the shape they need; it was not applied. Ask the hub to run 'xoshare hub export --drop DIR --full' for this spoke."
            )
        }
        try ledger.setTable(hub.id, object: object.name, table: table)
    }

    private func drop(_ table: String, object: String) throws {
        try database.execute("DROP TABLE IF EXISTS main.\(quoteIdentifier(table))")
        try ledger.removeTable(hub.id, object: object)
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
        let conflict = updates.isEmpty ? "DO NOTHING" : "DO UPDATE SET " + updates.joined(separator: ", ")
        return """
            INSERT INTO main.\(quoteIdentifier(table)) (\(names.joined(separator: ", "))) VALUES (\(placeholders))
            ON CONFLICT(\(quoteIdentifier(object.primaryKey))) \(conflict)
            """
    }

    func apply(segment: UnsafeRawBufferPointer, ofObject index: Int) throws {
        guard let manifest else { return }
        let object = manifest.objects[index]
        let fieldCount = Int32(object.fields.count)
        // SQLite would make up a key for a NULL given to an INTEGER PRIMARY KEY: refuse it first.
        let keyParameter = Int32(object.fields.firstIndex { $0.name == object.primaryKey } ?? 0) + 1
        let upsert = upserts[index]
        let delete = deletes[index]
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
                        if parameter == keyParameter, try RecordCodec.nextValueIsNull(reader) {
                            throw reader.malformed("a record has no primary key")
                        }
                        try RecordCodec.bindNextValue(from: &reader, to: upsert, at: parameter)
                    }
                    _ = try upsert.step()
                    upsert.rewind()
                case .delete where !object.complete:
                    try RecordCodec.bindNextValue(from: &reader, to: delete, at: 1)
                    _ = try delete.step()
                    delete.rewind()
                case .delete, nil:
                    throw reader.malformed("unknown record operation")
                }
                recordCounts[index] += 1
                onRecord?()
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
    }
}
