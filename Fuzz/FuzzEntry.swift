import Foundation

// libFuzzer entry point. `make fuzz` compiles this file together with the library's
// sources, as one module, with `swiftc -sanitize=fuzzer,address`, and runs the binary
// once per target named in XOSHARE_FUZZ_TARGET.

let fuzzTarget: @Sendable ([UInt8]) -> Bool = {
    switch ProcessInfo.processInfo.environment["XOSHARE_FUZZ_TARGET"] {
    case "invitation-code": return FuzzTargets.invitationCode
    case "bundle-archive": return FuzzTargets.bundleArchive
    case "bundle-header": return FuzzTargets.bundleHeader
    default: fatalError("set XOSHARE_FUZZ_TARGET to invitation-code, bundle-archive or bundle-header")
    }
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    _ = fuzzTarget(Array(UnsafeBufferPointer(start: start, count: count)))
    return 0
}
