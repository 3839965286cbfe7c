import Foundation

/// The names of the files xoshare reads and writes in a drop directory.
///
/// Every file is written under a name starting with `.xo-tmp-` and renamed
/// when complete, so a reader that skips those names never sees half a file.
public struct DropDirectory: Sendable {
    public static let temporaryPrefix = ".xo-tmp-"
    public let path: String

    /// - Throws: `XOShareError` (missing input) when the folder does not exist.
    public init(path: String) throws {
        self.path = Files.absolute(path)
        guard Files.isDirectory(self.path) else {
            throw XOShareError.noInput(
                "The drop directory \(self.path) does not exist or is not a folder; create it or mount the shared drive first."
            )
        }
    }

    public func bundleName(_ connection: ConnectionID, sequence: Int64) -> String {
        "xo-bundle-\(connection)-" + String(format: "%010lld", sequence) + ".xob"
    }

    public func acceptanceName(_ connection: ConnectionID) -> String { "xo-accept-\(connection).json" }

    public func receiptName(_ connection: ConnectionID) -> String { "xo-receipt-\(connection).json" }

    public func pathOf(_ name: String) -> String { path + "/" + name }

    /// Whether the file `name` is (still) in the directory.
    public func holds(_ name: String) -> Bool { access(pathOf(name), F_OK) == 0 }

    /// A temporary name that still tells which file it will become: `.xo-tmp-` and 12 random hex digits, `-`, the name.
    public func temporaryPath(for name: String) throws -> String {
        pathOf(Self.temporaryPrefix + (try randomBytes(6)).hexString + "-" + name)
    }

    /// The final name a temporary file will get, or nil for any other name.
    public static func finalName(ofTemporary name: String) -> String? {
        guard name.hasPrefix(temporaryPrefix), name.count > temporaryPrefix.count + 13 else { return nil }
        return String(name.dropFirst(temporaryPrefix.count + 13))
    }

    /// Reads a small file (an acceptance or a receipt); nil when it is missing or too large.
    func readSmallFile(_ name: String, limit: Int = 64 * 1024) throws -> [UInt8]? {
        guard Files.exists(pathOf(name)) else { return nil }
        let file = try FileDescriptor(path: pathOf(name), flags: O_RDONLY, operation: "open")
        let size = try file.size
        guard size <= limit else { return nil }
        return try file.read(count: Int(size), at: 0)
    }

    /// The bundle files present for a connection, by sequence, and any still being copied under a temporary name.
    public func bundles(for connection: ConnectionID) throws -> (
        complete: [(sequence: Int64, name: String)], inProgress: [String]
    ) {
        let prefix = "xo-bundle-\(connection)-"
        var complete: [(Int64, String)] = []
        var inProgress: [String] = []
        for name in try Files.list(path) {
            if name.hasPrefix(prefix) && name.hasSuffix(".xob") {
                let digits = name.dropFirst(prefix.count).dropLast(4)
                if let sequence = Int64(digits), digits.count == 10 { complete.append((sequence, name)) }
            } else if name.hasPrefix(Self.temporaryPrefix) && name.contains(prefix) {
                inProgress.append(name)
            } else if name.hasPrefix("." + prefix) {
                // A copy in progress under another tool's temporary name (rsync writes ".NAME.XXXXXX").
                inProgress.append(name)
            }
        }
        return (complete.sorted { $0.0 < $1.0 }, inProgress)
    }

    /// The names of acceptance files present.
    public func acceptances() throws -> [String] {
        try Files.list(path).filter { $0.hasPrefix("xo-accept-") && $0.hasSuffix(".json") }
    }
}

/// A small JSON file one side leaves in the drop directory for the other (an acceptance, a receipt).
public protocol DropDirectoryFile: Codable, Sendable {}

extension DropDirectoryFile {
    /// The file's bytes: JSON with sorted keys, as a person can read it.
    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return Array(try encoder.encode(self)) + [0x0a]
    }

    /// The file read back; nil for anything that is not one.
    public static func decode(_ bytes: [UInt8]) -> Self? {
        try? JSONDecoder().decode(Self.self, from: Data(bytes))
    }
}
