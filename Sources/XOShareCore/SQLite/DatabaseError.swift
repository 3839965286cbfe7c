internal import CSQLite

/// A failure reported by SQLite, with the extended result code, SQLite's own
/// message, the database file and the statement that failed.
public struct DatabaseError: ExitCodeConvertible {
    /// The extended result code (`sqlite3_extended_errcode`).
    public var code: Int32
    public var message: String
    public var path: String
    public var sql: String?

    /// The primary result code, the low byte of the extended code.
    public var primaryCode: Int32 { code & 0xff }

    public var isBusy: Bool { primaryCode == SQLITE_BUSY || primaryCode == SQLITE_LOCKED }
    public var isDiskFull: Bool { primaryCode == SQLITE_FULL }
    /// A value that a table refused: a constraint, or a type it cannot hold.
    public var isRefusedValue: Bool {
        primaryCode == SQLITE_CONSTRAINT || primaryCode == SQLITE_MISMATCH || primaryCode == SQLITE_TOOBIG
    }

    public var exitCode: ExitCode {
        switch primaryCode {
        case SQLITE_BUSY, SQLITE_LOCKED: return .temporaryFailure
        case SQLITE_FULL, SQLITE_IOERR: return .ioError
        case SQLITE_READONLY, SQLITE_PERM, SQLITE_AUTH: return .noPermission
        case SQLITE_CANTOPEN: return .cannotCreate
        case SQLITE_CORRUPT, SQLITE_NOTADB: return .dataError
        default: return .ioError
        }
    }

    public var description: String {
        var text = "The database \(path) reported: \(message)"
        switch primaryCode {
        case SQLITE_FULL: text += " (the disk is full; free some space and run again)"
        case SQLITE_BUSY, SQLITE_LOCKED: text += " (another program is using it; try again later)"
        default: break
        }
        if let sql { text += " [while running: \(sql.prefix(200))]" }
        return text + "."
    }
}
