import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension Org {
    /// Reads each spoke's receipt: records what it acknowledged and removes the
    /// bundles up to that one from the drop directory (unacknowledged ones stay).
    ///
    /// - Returns: the number of receipts refused (unsigned, or acknowledging a bundle never written).
    func collectReceipts(from drop: DropDirectory) throws -> Int {
        var refused = 0
        for connection in try state.spokeConnections() {
            let file = drop.receiptName(connection.id)
            guard let bytes = try drop.readSmallFile(file), let spokeKey = connection.spokePublicKey else { continue }
            guard let receipt = Receipt.decode(bytes), receipt.connection == connection.id.description,
                receipt.isSigned(by: spokeKey)
            else {
                refused += 1
                environment.report(
                    .fileRefused(file: file, reason: "it is not a receipt signed by spoke \(connection.spokeName)"))
                continue
            }
            guard receipt.sequence <= connection.lastSequence else {
                refused += 1
                environment.report(
                    .fileRefused(
                        file: file,
                        reason:
                            "it acknowledges bundle \(receipt.sequence), but only \(connection.lastSequence) were written"
                    ))
                continue
            }
            guard receipt.sequence > connection.acknowledgedSequence else { continue }
            try state.recordAcknowledgement(connection.id, sequence: receipt.sequence, at: receipt.appliedAt)
            var removed = 0
            for (sequence, name) in try drop.bundles(for: connection.id).complete where sequence <= receipt.sequence {
                if unlink(drop.pathOf(name)) == 0 { removed += 1 }
            }
            environment.report(
                .receiptRead(spoke: connection.spokeName, sequence: receipt.sequence, bundlesRemoved: removed))
        }
        return refused
    }

    /// Ends a connection: no more bundles for it, and a last signed notice tells the
    /// spoke (written now when `drop` is given, else by the next export).
    ///
    /// - Parameter purge: the notice asks the spoke to delete its copies of this hub's data.
    public func revoke(spokeName: String, purge: Bool, drop: DropDirectory?) throws -> SpokeConnection {
        guard let connection = try state.spokeConnection(named: spokeName) else {
            throw XOShareError.configuration("There is no spoke connection named \(spokeName); see 'xoshare status'.")
        }
        guard connection.state == .connected || connection.state == .pending else {
            throw XOShareError.configuration(
                "The connection \(spokeName) is \(connection.state.rawValue) already; there is nothing to revoke.")
        }
        try state.setState(connection.id, .revoked, revokedAt: environment.now(), purge: purge)
        if let drop, connection.state == .connected {
            let work = try openWorkConnection()
            var notice: WrittenBundle?
            try work.transaction {
                let state = StateStore(connection: work)
                guard let current = try state.spokeConnection(id: connection.id) else { return }
                notice = try writeRevocationNotice(for: current, state: state, into: drop, now: environment.now())
            }
            if let notice {
                try notice.publish()
                environment.report(
                    .bundleWritten(
                        spoke: spokeName, file: (notice.path as NSString).lastPathComponent,
                        sequence: notice.header.sequence, kind: notice.header.kind.name, records: 0,
                        bytes: notice.fileSize))
            }
        }
        return try state.spokeConnection(id: connection.id) ?? connection
    }

    /// Withdraws an invitation that has not been accepted yet; its code is then refused.
    public func uninvite(spokeName: String) throws {
        guard let connection = try state.spokeConnection(named: spokeName) else {
            throw XOShareError.configuration("There is no spoke connection named \(spokeName); see 'xoshare status'.")
        }
        guard connection.state == .pending else {
            throw XOShareError.configuration(
                "The invitation of \(spokeName) was accepted already (\(connection.state.rawValue)); use 'xoshare hub revoke \(spokeName)' to end the connection."
            )
        }
        try state.setState(connection.id, .cancelled)
    }
}
