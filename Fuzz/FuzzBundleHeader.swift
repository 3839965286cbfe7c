// libFuzzer entry point. `make fuzz` compiles this file together with the library's
// sources, as one module, with `swiftc -sanitize=fuzzer,address`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    _ = FuzzTargets.bundleHeader(Array(UnsafeBufferPointer(start: start, count: count)))
    return 0
}
