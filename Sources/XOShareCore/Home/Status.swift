import Foundation

/// Everything `xoshare status` shows, in the shape of its JSON output.
public struct StatusReport: Sendable, Codable {
    public struct SharedObject: Sendable, Codable {
        public var object: String
        public var primaryKey: String
        public var fields: [String]
    }

    public struct Spoke: Sendable, Codable {
        public var name: String
        public var connection: String
        public var state: String
        public var spokeOrg: String?
        public var spokeFingerprint: String?
        public var invitedAt: String
        public var invitationExpiresAt: String
        public var acceptedAt: String?
        public var lastSequence: Int64
        public var lastExportedAt: String?
    }

    public struct Hub: Sendable, Codable {
        public struct Copy: Sendable, Codable {
            public var object: String
            public var table: String
            public var rows: Int64
        }
        public var name: String
        public var connection: String
        public var state: String
        public var hubOrg: String
        public var hubFingerprint: String
        public var acceptedAt: String
        public var appliedSequence: Int64
        public var appliedAt: String?
        public var createdAtHub: String?
        public var objects: [Copy]
    }

    public var org: String
    public var fingerprint: String
    public var home: String
    public var database: String
    public var shares: [SharedObject]
    public var spokes: [Spoke]
    public var hubs: [Hub]
}

extension Org {
    public func status() throws -> StatusReport {
        StatusReport(
            org: name, fingerprint: keyFingerprint(try publicKey), home: home.path, database: databasePath,
            shares: try state.shares().map { .init(object: $0.object, primaryKey: $0.primaryKey, fields: $0.fields) },
            spokes: try state.spokeConnections().map { connection in
                .init(
                    name: connection.spokeName, connection: connection.id.description, state: connection.state.rawValue,
                    spokeOrg: connection.spokeOrg, spokeFingerprint: connection.spokePublicKey.map(keyFingerprint),
                    invitedAt: formatTime(connection.createdAt), invitationExpiresAt: formatTime(connection.expiresAt),
                    acceptedAt: connection.acceptedAt.map(formatTime), lastSequence: connection.lastSequence,
                    lastExportedAt: connection.lastExportedAt.map(formatTime))
            },
            hubs: try state.acceptedHubs().map { hub in
                .init(
                    name: hub.name, connection: hub.id.description, state: hub.state.rawValue, hubOrg: hub.hubOrg,
                    hubFingerprint: keyFingerprint(hub.hubPublicKey), acceptedAt: formatTime(hub.acceptedAt),
                    appliedSequence: hub.appliedSequence, appliedAt: hub.appliedAt.map(formatTime),
                    createdAtHub: hub.bundleCreatedAt.map(formatTime),
                    objects: try state.hubTables(hub.id).map {
                        .init(object: $0.object, table: $0.table, rows: $0.rows)
                    })
            })
    }
}
