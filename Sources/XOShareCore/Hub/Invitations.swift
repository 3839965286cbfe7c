import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension Org {
    public static let defaultInvitationLifetimeDays = 14

    /// Creates a connection named `spokeName` in state Pending and returns its invitation code.
    ///
    /// - Throws: `XOShareError` (usage) for an unusable name, (configuration) for a name already in use.
    public func invite(spokeName: String, lifetimeDays: Int = defaultInvitationLifetimeDays) throws -> InvitationCode {
        try Self.validateLocalName(spokeName, what: "spoke")
        guard lifetimeDays > 0, lifetimeDays <= 365 else {
            throw XOShareError.usage("An invitation lasts 1 to 365 days.")
        }
        if try state.spokeConnection(named: spokeName) != nil {
            throw XOShareError.configuration(
                "A spoke connection named \(spokeName) exists already; choose another name.")
        }
        let now = environment.now()
        let connection = SpokeConnection(
            id: try ConnectionID.random(), spokeName: spokeName, state: .pending,
            secret: try randomBytes(InvitationCode.secretCount), createdAt: now,
            expiresAt: now + Int64(lifetimeDays) * 86_400, spokeOrg: nil, spokePublicKey: nil, acceptedAt: nil,
            lastSequence: 0, lastBundleHash: nil, lastExportedAt: nil, exportedVersion: 0, exportedSharesHash: nil,
            acknowledgedSequence: 0, acknowledgedAt: nil, revokedAt: nil, purgeOnRevoke: false, noticeSequence: nil)
        try state.insertSpokeConnection(connection)
        return InvitationCode(
            connectionID: connection.id, hubOrgName: name, hubPublicKey: try publicKey, secret: connection.secret,
            expiresAt: connection.expiresAt)
    }

    /// Names of spokes and hubs are used in file names and messages: letters, digits, '.', '_' and '-'.
    static func validateLocalName(_ name: String, what: String) throws {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        guard !name.isEmpty, name.count <= 64, name.allSatisfy({ allowed.contains($0) }), !name.hasPrefix(".") else {
            throw XOShareError.usage(
                "The \(what) name '\(name)' is not usable: use 1 to 64 letters, digits, '.', '_' or '-', not starting with '.'."
            )
        }
    }

    /// Turns Pending connections Connected for each authentic acceptance in the drop directory.
    ///
    /// Acceptances for connections of other hubs sharing the directory are left alone.
    /// - Returns: the number of acceptances refused (forged, expired, unreadable).
    func collectAcceptances(from drop: DropDirectory) throws -> Int {
        var refused = 0
        for file in try drop.acceptances() {
            let idText = String(file.dropFirst("xo-accept-".count).dropLast(".json".count))
            guard let id = ConnectionID(hex: idText), let connection = try state.spokeConnection(id: id) else {
                continue
            }
            let path = drop.pathOf(file)
            let refuse = { (reason: String) in
                refused += 1
                self.environment.report(.fileRefused(file: file, reason: reason))
            }
            guard let bytes = try drop.readSmallFile(file), let acceptance = Acceptance.decode(bytes),
                acceptance.connection == id.description, let spokeKey = acceptance.spokePublicKeyBytes
            else {
                refuse("it is not a valid acceptance file")
                continue
            }
            guard try acceptance.isAuthentic(secret: connection.secret) else {
                refuse("it is not authenticated by the invitation's secret (forged, or for another invitation)")
                continue
            }
            switch connection.state {
            case .cancelled:
                refuse("the invitation for \(connection.spokeName) was cancelled at the hub")
                continue
            case .revoked where connection.acceptedAt == nil:
                refuse("the invitation for \(connection.spokeName) was revoked at the hub")
                continue
            case .pending:
                // The time is the spoke's, authenticated with the secret: a code accepted in time
                // still connects when the acceptance is carried over late.
                guard acceptance.acceptedAt <= connection.expiresAt else {
                    refuse("the invitation for \(connection.spokeName) expired at \(formatTime(connection.expiresAt))")
                    continue
                }
                try state.markConnected(
                    id, spokeOrg: acceptance.spokeOrg, spokePublicKey: spokeKey, at: environment.now())
                environment.report(
                    .connectionAccepted(
                        spoke: connection.spokeName, spokeOrg: acceptance.spokeOrg,
                        fingerprint: keyFingerprint(spokeKey)))
                unlink(path)
            default:
                if connection.spokePublicKey == spokeKey {
                    unlink(path)
                } else {
                    refuse("the invitation for \(connection.spokeName) was already accepted by another org")
                }
            }
        }
        return refused
    }
}
