import Foundation

/// The result of running the built `xoshare`.
public struct RunResult: Sendable {
    public var status: Int32
    public var output: String
    public var errors: String
}

/// The built executable: `$XOSHARE_BIN`, else `.build/debug/xoshare` in this checkout.
public let xoshareBinary: String = {
    if let path = ProcessInfo.processInfo.environment["XOSHARE_BIN"], !path.isEmpty { return path }
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.appendingPathComponent(".build/debug/xoshare").path
}()

/// Runs the built executable as a person or a cron job would.
///
/// - Parameters:
///   - input: what is typed on standard input (closed after it).
///   - environment: variables added to this process's environment.
public func runXOShare(
    _ arguments: [String], in directory: String, input: String = "", environment: [String: String] = [:]
) throws -> RunResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: xoshareBinary)
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: directory)
    var variables = ProcessInfo.processInfo.environment
    variables.removeValue(forKey: "XOSHARE_HOME")
    for (name, value) in environment { variables[name] = value }
    process.environment = variables
    let output = Pipe()
    let errors = Pipe()
    let stdin = Pipe()
    process.standardOutput = output
    process.standardError = errors
    process.standardInput = stdin
    try process.run()
    stdin.fileHandleForWriting.write(Data(input.utf8))
    try stdin.fileHandleForWriting.close()
    let outputData = output.fileHandleForReading.readDataToEndOfFile()
    let errorData = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return RunResult(
        status: process.terminationStatus, output: String(decoding: outputData, as: UTF8.self),
        errors: String(decoding: errorData, as: UTF8.self))
}
