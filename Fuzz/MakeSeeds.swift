import Foundation

// Writes the seed corpus of each fuzz target into fixtures/fuzz/ (`make fuzz-seeds`).
@main
struct MakeSeeds {
    static func main() throws {
        let root = CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : "fixtures/fuzz"
        func write(_ target: String, _ name: String, _ bytes: [UInt8]) throws {
            try Data(bytes).write(to: URL(fileURLWithPath: "\(root)/\(target)/seed-\(name)"))
        }
        let key = try SigningKey()
        let code = InvitationCode(
            connectionID: ConnectionID(bytes: [1, 2, 3, 4, 5, 6, 7, 8]), hubOrgName: "Acme Corp",
            hubPublicKey: key.publicKey,
            secret: [UInt8](repeating: 7, count: 16), expiresAt: 1_900_000_000)
        try write("invitation-code", "valid", Array(code.text.utf8))
        try write("invitation-code", "lowercase", Array(code.text.lowercased().utf8))
        try write("bundle-archive", "empty-object", try FuzzTargets.sampleArchive(records: []))
        try write(
            "bundle-archive", "records",
            try FuzzTargets.sampleArchive(records: [
                [.integer(1), .string("Globex")], [.integer(-1), .null], [.integer(.max), .blob([0, 255])],
                [.integer(2), .real(0.1)],
            ]))
        let header = BundleHeader(
            kind: .delta, connectionID: code.connectionID, hubPublicKey: key.publicKey, sequence: 3,
            previousBundleHash: [UInt8](repeating: 1, count: 32), createdAt: 1_800_000_000, expiresAt: 1_900_000_000,
            salt: [UInt8](repeating: 2, count: 32), chunkSize: 1 << 20, chunkCount: 1, payloadSize: 116,
            payloadHash: [UInt8](repeating: 3, count: 32), compressedSize: 100, archiveSize: 4096)
        try write("bundle-header", "delta", header.signedBytes)
    }
}
