internal import CSQLite

/// Something that holds SQLite values by index: a statement's current row, or a function's arguments.
public protocol SQLValueSource {
    func type(at index: Int32) -> Statement.ColumnType
    func int64(at index: Int32) -> Int64
    func double(at index: Int32) -> Double
    func textBytes(at index: Int32) -> UnsafeRawBufferPointer
    func blobBytes(at index: Int32) -> UnsafeRawBufferPointer
}

extension Statement: SQLValueSource {
    @inline(__always)
    public func type(at index: Int32) -> ColumnType { columnType(at: index) }
}

/// SQLite values held by pointer: the arguments of one call of an SQL function
/// defined in Swift, or a statement's current row fetched with `Statement.rowValues`.
/// Their types and contents are read with the `sqlite3_value_*` calls, which,
/// unlike the `sqlite3_column_*` ones, do not look the column up again each time.
public struct SQLValueList: SQLValueSource {
    let count: Int32
    let values: UnsafeMutablePointer<OpaquePointer?>

    public var indices: Range<Int32> { 0..<count }

    @inline(__always)
    public func type(at index: Int32) -> Statement.ColumnType {
        Statement.ColumnType(code: sqlite3_value_type(values[Int(index)]))
    }

    @inline(__always)
    public func int64(at index: Int32) -> Int64 { sqlite3_value_int64(values[Int(index)]) }

    @inline(__always)
    public func double(at index: Int32) -> Double { sqlite3_value_double(values[Int(index)]) }

    /// The bytes of a text value, valid during the call (or until the statement steps).
    @inline(__always)
    public func textBytes(at index: Int32) -> UnsafeRawBufferPointer {
        let pointer = sqlite3_value_text(values[Int(index)])
        return UnsafeRawBufferPointer(start: pointer, count: Int(sqlite3_value_bytes(values[Int(index)])))
    }

    /// The bytes of a blob value, valid during the call (or until the statement steps).
    @inline(__always)
    public func blobBytes(at index: Int32) -> UnsafeRawBufferPointer {
        let pointer = sqlite3_value_blob(values[Int(index)])
        return UnsafeRawBufferPointer(
            start: pointer, count: pointer == nil ? 0 : Int(sqlite3_value_bytes(values[Int(index)])))
    }
}

extension Statement {
    /// Values `0..<count` of the current row, each looked up once, in `storage`
    /// (room for `count` pointers); valid until the statement steps or resets.
    ///
    /// The corresponding C function is `sqlite3_column_value`. Its values are
    /// "unprotected": reading them is safe on the connection's own thread, which
    /// is the only thread a `Database` is used from.
    @inline(__always)
    public func rowValues(count: Int32, storage: UnsafeMutablePointer<OpaquePointer?>) -> SQLValueList {
        for index in 0..<count { storage[Int(index)] = sqlite3_column_value(handle, index) }
        return SQLValueList(count: count, values: storage)
    }
}

/// The Swift body of an SQL function, kept alive by SQLite until the function is dropped.
private final class FunctionBody {
    let body: (SQLValueList) -> [UInt8]
    init(_ body: @escaping (SQLValueList) -> [UInt8]) { self.body = body }
}

extension Database {
    /// Defines a deterministic SQL function, taking any number of arguments, that returns a blob.
    ///
    /// The corresponding C function is `sqlite3_create_function_v2`.
    public func defineBlobFunction(_ name: String, _ body: @escaping (SQLValueList) -> [UInt8]) throws {
        let box = Unmanaged.passRetained(FunctionBody(body)).toOpaque()
        let code = sqlite3_create_function_v2(
            handle, name, -1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, box,
            { context, count, values in
                let body = Unmanaged<FunctionBody>.fromOpaque(sqlite3_user_data(context)!).takeUnretainedValue()
                let result = body.body(SQLValueList(count: count, values: values!))
                result.withUnsafeBytes {
                    sqlite3_result_blob(context, $0.baseAddress, Int32($0.count), xo_sqlite_transient())
                }
            }, nil, nil,
            { box in Unmanaged<FunctionBody>.fromOpaque(box!).release() })
        try check(code, sql: "defining \(name)()")
    }
}
