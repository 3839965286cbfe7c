import Foundation

/// What the hub shares: objects (tables of its database) and their fields.
extension Org {
    /// Shares `object` with the listed fields, or all its columns when none are listed.
    ///
    /// The primary key is always shared. Re-sharing replaces the field list.
    /// - Throws: `XOShareError` (configuration) for an unknown table or column,
    ///   or a table without a single-column primary key.
    @discardableResult
    public func share(object requested: String, fields requestedFields: [String]) throws -> Share {
        let database = try openDatabase(readOnly: true)
        let schema = try Self.shareableSchema(of: requested, in: database)
        var chosen = Set<String>()
        for field in requestedFields {
            guard let column = schema.fields.first(where: { $0.name.lowercased() == field.lowercased() }) else {
                throw XOShareError.configuration(
                    "The table \(schema.name) has no column '\(field)'; its columns are: \(schema.fields.map(\.name).joined(separator: ", "))."
                )
            }
            chosen.insert(column.name)
        }
        let fields = schema.fields.map(\.name).filter {
            requestedFields.isEmpty || chosen.contains($0) || $0 == schema.primaryKey
        }
        let share = Share(object: schema.name, primaryKey: schema.primaryKey, fields: fields)
        try state.saveShare(share, at: environment.now())
        try updateCaptureTriggers()
        return share
    }

    /// Stops sharing `object`.
    public func unshare(object: String) throws {
        let shares = try state.shares()
        guard let share = shares.first(where: { $0.object.lowercased() == object.lowercased() }) else {
            throw XOShareError.configuration(
                "\(object) is not shared; shared objects: \(shares.isEmpty ? "none" : shares.map(\.object).joined(separator: ", "))."
            )
        }
        _ = try state.removeShare(share.object)
        try updateCaptureTriggers()
    }

    /// The schema of a table the hub may share: not SQLite's own, not a received copy.
    static func shareableSchema(of requested: String, in database: Database, schema databaseName: String = "main")
        throws -> ObjectSchema
    {
        let schema = try tableSchema(of: requested, in: database, schema: databaseName)
        if schema.name.lowercased().hasPrefix("sqlite_") {
            throw XOShareError.configuration("\(schema.name) is an SQLite internal table and cannot be shared.")
        }
        if schema.name.hasSuffix(copySuffix) {
            throw XOShareError.configuration(
                "\(schema.name) is a copy received from another hub and cannot be shared on.")
        }
        return schema
    }

    /// The columns and primary key of a table of the org database.
    ///
    /// - Parameter databaseName: the schema to look in, `main` or the name of an attached database.
    static func tableSchema(of requested: String, in database: Database, schema databaseName: String = "main") throws
        -> ObjectSchema
    {
        let found = try database.rows(
            "SELECT name FROM \(quoteIdentifier(databaseName)).sqlite_schema WHERE type = 'table' AND name = ? COLLATE NOCASE",
            [.string(requested)]
        )
        guard let nameValue = found.first?.first else {
            let tables = try database.rows(
                "SELECT name FROM \(quoteIdentifier(databaseName)).sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
            ).map { $0[0].string }
            throw XOShareError.configuration(
                "The org database has no table '\(requested)'; its tables are: \(tables.isEmpty ? "none" : tables.joined(separator: ", "))."
            )
        }
        let name = nameValue.string
        let columns = try database.rows(
            "SELECT name, type, pk FROM pragma_table_info(?, ?) ORDER BY cid", [.string(name), .string(databaseName)])
        let keys = columns.filter { ($0[2].integer ?? 0) > 0 }
        guard keys.count == 1 else {
            throw XOShareError.configuration(
                "The table \(name) has \(keys.isEmpty ? "no primary key" : "a primary key of \(keys.count) columns"); xoshare shares only tables with a single-column primary key."
            )
        }
        return ObjectSchema(
            name: name, primaryKey: keys[0][0].string,
            fields: columns.map { FieldSchema(name: $0[0].string, type: $0[1].string) })
    }
}
