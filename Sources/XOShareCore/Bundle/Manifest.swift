import Foundation

/// One column of a shared object as the hub declares it.
public struct FieldSchema: Sendable, Codable, Equatable {
    public var name: String
    /// The column's declared type at the hub (may be empty, as SQLite allows).
    public var type: String

    public init(name: String, type: String) {
        self.name = name
        self.type = type
    }
}

/// One shared object: its name at the hub, its key and its shared fields.
public struct ObjectSchema: Sendable, Codable, Equatable {
    public var name: String
    public var primaryKey: String
    /// In archive order; the primary key is one of them.
    public var fields: [FieldSchema]

    public init(name: String, primaryKey: String, fields: [FieldSchema]) {
        self.name = name
        self.primaryKey = primaryKey
        self.fields = fields
    }
}

/// One object as a bundle carries it.
public struct ManifestObject: Sendable, Codable, Equatable {
    public var name: String
    public var primaryKey: String
    public var fields: [FieldSchema]
    /// Whether the bundle holds all of the object's records (the spoke replaces its copy)
    /// or only the changes since the previous bundle.
    public var complete: Bool

    public init(_ schema: ObjectSchema, complete: Bool) {
        name = schema.name
        primaryKey = schema.primaryKey
        fields = schema.fields
        self.complete = complete
    }

    public var schema: ObjectSchema { ObjectSchema(name: name, primaryKey: primaryKey, fields: fields) }
}

/// The first entry of every bundle archive: who made it and what it holds.
public struct Manifest: Sendable, Codable, Equatable {
    public static let entryName = "manifest.json"
    public static let formatVersion = 1

    public var format: Int
    public var hubOrg: String
    public var connection: String
    public var sequence: Int64
    public var createdAt: Int64
    /// "snapshot", "delta" or "revocation", as in the header.
    public var kind: String
    /// Every object the hub shares now; the spoke drops the copies of any other.
    public var objects: [ManifestObject]
    /// In a revocation notice: whether the spoke deletes its copies.
    public var purge: Bool?
    /// The most bytes any data entry holds; the reader refuses a larger entry.
    public var segmentLimit: Int

    public init(
        format: Int, hubOrg: String, connection: String, sequence: Int64, createdAt: Int64, kind: String,
        objects: [ManifestObject], segmentLimit: Int, purge: Bool? = nil
    ) {
        self.purge = purge
        self.format = format
        self.hubOrg = hubOrg
        self.connection = connection
        self.sequence = sequence
        self.createdAt = createdAt
        self.kind = kind
        self.objects = objects
        self.segmentLimit = segmentLimit
    }

    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(self))
    }
}

/// The last entry of every bundle archive: what the data entries added up to.
public struct Summary: Sendable, Codable, Equatable {
    public static let entryName = "summary.json"

    public struct ObjectCount: Sendable, Codable, Equatable {
        public var records: Int64
        public var segments: Int64
    }

    public var objects: [ObjectCount]
}

/// The archive entry name of the `segment`th data entry of the `object`th object.
func segmentEntryName(object: Int, segment: Int) -> String { "data/\(object)/\(segment)" }

/// The largest data entry a reader accepts, whatever a manifest says.
public let maximumSegmentLimit = 64 << 20
/// The largest manifest or summary a reader accepts.
let maximumMetadataEntrySize = 16 << 20
