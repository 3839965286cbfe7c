internal import CSQLite

/// An open SQLite connection. The connection is closed when the object goes away.
public final class Database {
    public enum Mode: Sendable {
        case readOnly
        case readWrite
        case readWriteCreate
    }

    let handle: OpaquePointer
    public let path: String

    /// Opens the database at `path`.
    ///
    /// - Parameter busyTimeout: how long, in milliseconds, to wait for another
    ///   connection's lock before failing with `SQLITE_BUSY`.
    /// - Throws: `DatabaseError` when the file cannot be opened in that mode.
    /// The corresponding C function is `sqlite3_open_v2`.
    public init(path: String, mode: Mode = .readWrite, busyTimeout: Int32 = 5000) throws {
        // URI file names let a read-write connection attach another database read-only.
        var flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE | SQLITE_OPEN_URI
        switch mode {
        case .readOnly: flags |= SQLITE_OPEN_READONLY
        case .readWrite: flags |= SQLITE_OPEN_READWRITE
        case .readWriteCreate: flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
        }
        var connection: OpaquePointer?
        let code = sqlite3_open_v2(path, &connection, flags, nil)
        guard code == SQLITE_OK, let connection else {
            let message =
                connection.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
            sqlite3_close_v2(connection)
            throw DatabaseError(code: code, message: message, path: path, sql: nil)
        }
        self.handle = connection
        self.path = path
        sqlite3_extended_result_codes(connection, 1)
        // Wait a little for another process's write to finish rather than failing at once.
        sqlite3_busy_timeout(connection, busyTimeout)
        // Reject files that are not databases at open time rather than at first use.
        try execute("SELECT count(*) FROM sqlite_schema")
    }

    deinit {
        sqlite3_close_v2(handle)
    }

    /// The one checking helper: every SQLite return code goes through here.
    @discardableResult
    @inline(__always)
    func check(_ code: Int32, sql: String? = nil) throws -> Int32 {
        guard code == SQLITE_OK else {
            throw DatabaseError(
                code: sqlite3_extended_errcode(handle), message: String(cString: sqlite3_errmsg(handle)),
                path: path, sql: sql)
        }
        return code
    }

    /// Runs one or more statements that return no rows of interest.
    public func execute(_ sql: String) throws {
        try check(sqlite3_exec(handle, sql, nil, nil, nil), sql: sql)
    }

    /// Compiles one statement.
    public func prepare(_ sql: String) throws -> Statement {
        var statement: OpaquePointer?
        try check(sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil), sql: sql)
        guard let statement else {
            throw DatabaseError(code: SQLITE_MISUSE, message: "empty statement", path: path, sql: sql)
        }
        return Statement(handle: statement, database: self, sql: sql)
    }

    /// Runs `body` inside one transaction: committed if it returns, rolled back if it throws.
    ///
    /// `BEGIN IMMEDIATE` takes the write lock at once, so a concurrent writer is
    /// noticed before any work is done.
    public func transaction<T>(immediate: Bool = true, _ body: () throws -> T) throws -> T {
        try execute(immediate ? "BEGIN IMMEDIATE" : "BEGIN")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            if sqlite3_get_autocommit(handle) == 0 {
                sqlite3_exec(handle, "ROLLBACK", nil, nil, nil)
            }
            throw error
        }
    }

    /// The rows of a query, each as an array of values.
    public func rows(_ sql: String, _ arguments: [SQLValue] = []) throws -> [[SQLValue]] {
        let statement = try prepare(sql)
        try statement.bind(arguments)
        var result: [[SQLValue]] = []
        while try statement.step() {
            result.append((0..<statement.columnCount).map { statement.value(at: $0) })
        }
        return result
    }

    /// Runs one statement with arguments.
    public func run(_ sql: String, _ arguments: [SQLValue] = []) throws {
        let statement = try prepare(sql)
        try statement.bind(arguments)
        while try statement.step() {}
    }

    /// Whether a table of that name exists in the main schema.
    public func tableExists(_ name: String) throws -> Bool {
        try !rows("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?", [.string(name)]).isEmpty
    }

    /// Number of rows changed by the last statement.
    public var changes: Int { Int(sqlite3_changes64(handle)) }
}

/// The `file:` URI that opens `path` read-only, for `ATTACH`.
public func readOnlyURI(_ path: String) -> String {
    var uri = "file:"
    for byte in path.utf8 {
        let character = Character(Unicode.Scalar(byte))
        if byte < 0x80 && (character.isLetter || character.isNumber || "/-._~".contains(character)) {
            uri.append(character)
        } else {
            uri += "%" + [byte].hexString
        }
    }
    return uri + "?mode=ro"
}

/// Quotes an SQL identifier so that any name, even one with quotes, is taken literally.
public func quoteIdentifier(_ name: String) -> String {
    var quoted = "\""
    for character in name {
        quoted.append(character)
        if character == "\"" { quoted.append("\"") }
    }
    return quoted + "\""
}
