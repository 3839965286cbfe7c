internal import CSQLite

/// A compiled SQLite statement, finalized when the object goes away.
public final class Statement {
    let handle: OpaquePointer
    let database: Database
    let sql: String

    init(handle: OpaquePointer, database: Database, sql: String) {
        self.handle = handle
        self.database = database
        self.sql = sql
    }

    deinit {
        sqlite3_finalize(handle)
    }

    /// Advances to the next row; `false` when the statement is done.
    ///
    /// The corresponding C function is `sqlite3_step`.
    @inline(__always)
    public func step() throws -> Bool {
        let code = sqlite3_step(handle)
        if code == SQLITE_ROW { return true }
        if code == SQLITE_DONE { return false }
        // sqlite3_step's own code is the most precise; errmsg has the text.
        throw DatabaseError(
            code: sqlite3_extended_errcode(database.handle), message: String(cString: sqlite3_errmsg(database.handle)),
            path: database.path, sql: sql)
    }

    /// Resets the statement so it can run again with new bindings.
    @inline(__always)
    public func rewind() {
        sqlite3_reset(handle)
    }

    /// Resets the statement so it can run again, and clears its bindings.
    public func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    public var columnCount: Int32 { sqlite3_column_count(handle) }

    public func columnName(at index: Int32) -> String { String(cString: sqlite3_column_name(handle, index)) }

    // MARK: Binding (parameters are numbered from 1, as in SQLite)

    public func bind(_ values: [SQLValue]) throws {
        for (offset, value) in values.enumerated() { try bind(value, at: Int32(offset + 1)) }
    }

    public func bind(_ value: SQLValue, at index: Int32) throws {
        switch value {
        case .null: try bindNull(at: index)
        case .integer(let number): try bind(number, at: index)
        case .real(let number): try bind(number, at: index)
        case .text(let bytes): try bytes.withUnsafeBytes { try bindText($0, at: index) }
        case .blob(let bytes): try bytes.withUnsafeBytes { try bindBlob($0, at: index) }
        }
    }

    @inline(__always)
    public func bindNull(at index: Int32) throws {
        try database.check(sqlite3_bind_null(handle, index), sql: sql)
    }

    @inline(__always)
    public func bind(_ value: Int64, at index: Int32) throws {
        try database.check(sqlite3_bind_int64(handle, index, value), sql: sql)
    }

    @inline(__always)
    public func bind(_ value: Double, at index: Int32) throws {
        try database.check(sqlite3_bind_double(handle, index, value), sql: sql)
    }

    /// Binds UTF-8 text given as bytes (copied by SQLite, so the buffer may go away).
    @inline(__always)
    public func bindText(_ bytes: UnsafeRawBufferPointer, at index: Int32) throws {
        let base = bytes.baseAddress?.assumingMemoryBound(to: CChar.self) ?? UnsafePointer<CChar>(bitPattern: 1)
        try database.check(
            sqlite3_bind_text64(
                handle, index, base, sqlite3_uint64(bytes.count), xo_sqlite_transient(), UInt8(SQLITE_UTF8)),
            sql: sql)
    }

    /// Binds a blob given as bytes (copied by SQLite). An empty blob stays a blob, not NULL.
    @inline(__always)
    public func bindBlob(_ bytes: UnsafeRawBufferPointer, at index: Int32) throws {
        if bytes.isEmpty {
            try database.check(sqlite3_bind_zeroblob(handle, index, 0), sql: sql)
        } else {
            try database.check(
                sqlite3_bind_blob64(
                    handle, index, bytes.baseAddress, sqlite3_uint64(bytes.count), xo_sqlite_transient()),
                sql: sql)
        }
    }

    // MARK: Reading columns (numbered from 0)

    public enum ColumnType: Sendable {
        case null, integer, real, text, blob

        /// The type SQLite names by a fundamental datatype code (`SQLITE_INTEGER`...).
        @inline(__always)
        init(code: Int32) {
            switch code {
            case SQLITE_INTEGER: self = .integer
            case SQLITE_FLOAT: self = .real
            case SQLITE_TEXT: self = .text
            case SQLITE_BLOB: self = .blob
            default: self = .null
            }
        }
    }

    @inline(__always)
    public func columnType(at index: Int32) -> ColumnType { ColumnType(code: sqlite3_column_type(handle, index)) }

    @inline(__always)
    public func int64(at index: Int32) -> Int64 { sqlite3_column_int64(handle, index) }

    @inline(__always)
    public func double(at index: Int32) -> Double { sqlite3_column_double(handle, index) }

    /// The bytes of a text column, valid until the next step or reset.
    @inline(__always)
    public func textBytes(at index: Int32) -> UnsafeRawBufferPointer {
        let pointer = sqlite3_column_text(handle, index)
        let count = Int(sqlite3_column_bytes(handle, index))
        return UnsafeRawBufferPointer(start: pointer, count: pointer == nil ? 0 : count)
    }

    /// The bytes of a blob column, valid until the next step or reset.
    @inline(__always)
    public func blobBytes(at index: Int32) -> UnsafeRawBufferPointer {
        let pointer = sqlite3_column_blob(handle, index)
        let count = Int(sqlite3_column_bytes(handle, index))
        return UnsafeRawBufferPointer(start: pointer, count: pointer == nil ? 0 : count)
    }

    public func string(at index: Int32) -> String? {
        columnType(at: index) == .null ? nil : String(decoding: textBytes(at: index), as: UTF8.self)
    }

    public func value(at index: Int32) -> SQLValue {
        switch columnType(at: index) {
        case .null: .null
        case .integer: .integer(int64(at: index))
        case .real: .real(double(at: index))
        case .text: .text(Array(textBytes(at: index)))
        case .blob: .blob(Array(blobBytes(at: index)))
        }
    }
}
