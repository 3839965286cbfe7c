import Foundation

/// Everything `xoshare status` shows, in the shape of its JSON output.
public struct StatusReport: Sendable, Codable {
    public struct SharedObject: Sendable, Codable {
        public var object: String
        public var primaryKey: String
        public var fields: [String]
    }

    /// A connection of this org as hub.
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
        public var acknowledgedSequence: Int64
        public var acknowledgedAt: String?
        public var revokedAt: String?
    }

    /// A hub this org accepted, as spoke.
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
        public var tablePrefix: String
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
    /// "on" when the org database logs the shared objects' changes (`hub capture on`), else "off".
    public var changeCapture: String
    public var spokes: [Spoke]
    public var hubs: [Hub]
}

extension Org {
    public func status() throws -> StatusReport {
        let hubs = try state.acceptedHubs()
        let database = hubs.isEmpty ? nil : try openDatabase(readOnly: true)
        let ledger = database.map { SpokeLedger(database: $0) }
        return StatusReport(
            org: name, fingerprint: keyFingerprint(try publicKey), home: home.path, database: databasePath,
            shares: try state.shares().map { .init(object: $0.object, primaryKey: $0.primaryKey, fields: $0.fields) },
            changeCapture: try capturesChanges ? "on" : "off",
            spokes: try state.spokeConnections().map { connection in
                .init(
                    name: connection.spokeName, connection: connection.id.description, state: connection.state.rawValue,
                    spokeOrg: connection.spokeOrg, spokeFingerprint: connection.spokePublicKey.map(keyFingerprint),
                    invitedAt: formatTime(connection.createdAt), invitationExpiresAt: formatTime(connection.expiresAt),
                    acceptedAt: connection.acceptedAt.map(formatTime), lastSequence: connection.lastSequence,
                    lastExportedAt: connection.lastExportedAt.map(formatTime),
                    acknowledgedSequence: connection.acknowledgedSequence,
                    acknowledgedAt: connection.acknowledgedAt.map(formatTime),
                    revokedAt: connection.revokedAt.map(formatTime))
            },
            hubs: try hubs.map { hub in
                let latest = try ledger?.latest(hub.id)
                let state: ConnectionState =
                    switch latest?.kind {
                    case nil: .contactingHub
                    case BundleHeader.Kind.revocation.name: .revoked
                    default: .connected
                    }
                let copies = try ledger?.tables(of: hub.id) ?? []
                return .init(
                    name: hub.name, connection: hub.id.description, state: state.rawValue, hubOrg: hub.hubOrg,
                    hubFingerprint: keyFingerprint(hub.hubPublicKey), tablePrefix: hub.tablePrefix,
                    acceptedAt: formatTime(hub.acceptedAt), appliedSequence: latest?.sequence ?? 0,
                    appliedAt: latest.map { formatTime($0.appliedAt) },
                    createdAtHub: latest.map { formatTime($0.createdAt) },
                    objects: try copies.map { copy in
                        let rows = try database?.rows("SELECT count(*) FROM main.\(quoteIdentifier(copy.table))")
                        return .init(object: copy.object, table: copy.table, rows: rows?.first?.first?.integer ?? 0)
                    })
            })
    }
}
