/// A value handed to another thread by a caller that does not touch it again
/// until that thread is done with it.
struct Unchecked<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
