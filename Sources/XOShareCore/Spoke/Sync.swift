import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// What one `spoke sync` did.
public struct SyncOutcome: Sendable {
    public var applied = 0
    public var skipped = 0
    /// The failure of each hub whose import stopped or that refused a bundle.
    public var failures: [XOShareError] = []
}

extension Org {
    /// The suffix of the tables that hold a hub's shared objects on the spoke.
    public static let copySuffix = "__xo"

    /// Verifies and applies, in sequence order, every new bundle in `drop` from each accepted hub,
    /// then writes a receipt for each hub saying what was applied.
    ///
    /// A hub's import stops at its first bundle that cannot be applied, and at a
    /// missing bundle unless a later snapshot makes up for it; other hubs go on.
    /// Each bundle is applied in one transaction of the org database that also records it as applied.
    public func sync(from drop: DropDirectory) throws -> SyncOutcome {
        var outcome = SyncOutcome()
        let database = try openDatabase(readOnly: false)
        let ledger = SpokeLedger(database: database)
        for hub in try state.acceptedHubs() {
            try sync(hub, from: drop, database: database, ledger: ledger, outcome: &outcome)
        }
        return outcome
    }

    private func sync(
        _ hub: AcceptedHub, from drop: DropDirectory, database: Database, ledger: SpokeLedger,
        outcome: inout SyncOutcome
    ) throws {
        let (bundles, inProgress) = try drop.bundles(for: hub.id)
        environment.checkpoint?("sync.listed")
        var latest = try ledger.latest(hub.id)
        var stopped = false
        var sawNew = false
        var index = 0
        while index < bundles.count {
            var (sequence, file) = bundles[index]
            index += 1
            let applied = latest?.sequence ?? 0
            do {
                if sequence <= applied {
                    try checkLeftover(file, sequence: sequence, of: hub, in: drop, ledger: ledger)
                    outcome.skipped += 1
                    environment.report(.bundleSkipped(hub: hub.name, file: file, reason: "already applied"))
                    continue
                }
                sawNew = true
                if let latest, latest.kind == BundleHeader.Kind.revocation.name {
                    throw XOShareError.badData(
                        "Hub \(hub.name) revoked this connection at \(formatTime(latest.createdAt)); \(file) is refused."
                    )
                }
                if sequence != applied + 1 {
                    // A gap: only a bundle that stands alone (a snapshot, a revocation) may go past it.
                    guard let next = firstStandingAlone(bundles[(index - 1)...], of: hub, in: drop) else {
                        throw XOShareError.noInput(
                            "Bundle \(applied + 1) from hub \(hub.name) is missing (\(file) is present), so nothing after bundle \(applied) was applied. Copy \(drop.bundleName(hub.id, sequence: applied + 1)) into \(drop.path), or ask the hub to run 'xoshare hub export --drop DIR --full' for this spoke."
                        )
                    }
                    for skipped in bundles[(index - 1)..<next] {
                        environment.report(
                            .bundleSkipped(hub: hub.name, file: skipped.name, reason: "superseded by a later snapshot"))
                    }
                    (sequence, file) = bundles[next]
                    index = next + 1
                }
                let bundle: VerifiedBundle
                do {
                    bundle = try VerifiedBundle(path: drop.pathOf(file), trust: hub.trust, now: environment.now())
                } catch  where !drop.holds(file) {
                    throw XOShareError(
                        .temporaryFailure,
                        "The bundle \(file) from \(hub.name) was removed from \(drop.path) while this run was reading it; nothing of it was applied. Run again."
                    )
                }
                guard bundle.header.sequence == sequence else {
                    throw XOShareError.badData(
                        "The bundle \(file) holds sequence \(bundle.header.sequence), not the \(sequence) its name says: it was renamed; it was not applied."
                    )
                }
                if bundle.header.kind == .delta && bundle.header.previousBundleHash != latest?.bundleHash {
                    throw XOShareError.badData(
                        "The bundle \(file) holds changes to a bundle this org did not apply; it was not applied. Ask the hub to run 'xoshare hub export --drop DIR --full' for this spoke."
                    )
                }
                let (entry, records) = try apply(bundle, from: hub, database: database, ledger: ledger)
                environment.checkpoint?("sync.committed")
                latest = entry
                outcome.applied += 1
                environment.report(
                    .bundleApplied(
                        hub: hub.name, file: file, sequence: sequence, kind: bundle.header.kind.name, records: records))
                if bundle.header.kind == .revocation {
                    environment.report(.hubRevoked(hub: hub.name, purged: records < 0))
                }
            } catch {
                let failure = error as? XOShareError ?? XOShareError(error.exitCode, String(describing: error))
                environment.report(.bundleRefused(hub: hub.name, file: file, reason: failure.message))
                outcome.failures.append(failure)
                if sequence > applied {
                    stopped = true
                    break
                }
            }
        }
        if !stopped, let copying = inProgress.first {
            environment.report(.bundleSkipped(hub: hub.name, file: copying, reason: "still being copied"))
            outcome.failures.append(
                XOShareError(
                    .temporaryFailure,
                    "The bundle \(copying) from \(hub.name) is still being written or copied; run again once it is complete."
                ))
        } else if !sawNew && inProgress.isEmpty {
            environment.report(.nothingNew(hub: hub.name))
        }
        // The receipt in the drop directory may be older than the ledger (a run killed after
        // its commit, a drop that was read-only): it is written whenever it says less.
        if let latest {
            let written = (try? drop.readSmallFile(drop.receiptName(hub.id))).flatMap { $0.flatMap(Receipt.decode) }
            if written?.sequence != latest.sequence { writeReceipt(for: hub, latest, into: drop) }
        }
    }

    /// A bundle at or below the applied sequence is fine when it is the very bundle
    /// applied (a copy not yet cleaned up, or one the hub removes while this run looks at it);
    /// anything else is a replay or a conflict.
    private func checkLeftover(
        _ file: String, sequence: Int64, of hub: AcceptedHub, in drop: DropDirectory, ledger: SpokeLedger
    ) throws {
        let header: BundleHeader
        do {
            header = try VerifiedBundle.signedHeader(at: drop.pathOf(file), trust: hub.trust)
        } catch  where !drop.holds(file) {
            return  // The hub read this org's receipt and cleaned the bundle up meanwhile.
        }
        guard let record = try ledger.applied(hub.id, sequence: sequence), record.bundleHash == header.bundleHash else {
            throw XOShareError.badData(
                "The bundle \(file) is older than the last bundle applied from \(hub.name) and is not the bundle \(sequence) that was applied: a replay or a conflicting copy; it was not applied. Remove it from the drop directory."
            )
        }
    }

    /// The index of the first bundle from `candidates` whose signed header says it can follow any state.
    private func firstStandingAlone(
        _ candidates: ArraySlice<(sequence: Int64, name: String)>, of hub: AcceptedHub, in drop: DropDirectory
    ) -> Int? {
        candidates.indices.first { index in
            let header = try? VerifiedBundle.signedHeader(at: drop.pathOf(candidates[index].name), trust: hub.trust)
            return header?.kind.standsAlone == true && header?.sequence == candidates[index].sequence
        }
    }

    /// Applies one verified bundle in a single transaction that also records it in the ledger.
    ///
    /// - Returns: the ledger entry and the number of records applied (-1 for a revocation that purged).
    private func apply(_ bundle: VerifiedBundle, from hub: AcceptedHub, database: Database, ledger: SpokeLedger) throws
        -> (SpokeLedger.Applied, Int64)
    {
        try database.transaction {
            try ledger.create()
            let applier = BundleApplier(database: database, ledger: ledger, hub: hub, bundleName: bundle.name)
            if let checkpoint = environment.checkpoint { applier.onRecord = { checkpoint("sync.record") } }
            try bundle.read(into: applier)
            let entry = SpokeLedger.Applied(
                sequence: bundle.header.sequence, kind: bundle.header.kind.name, bundleHash: bundle.header.bundleHash,
                createdAt: bundle.header.createdAt, appliedAt: environment.now())
            try ledger.record(hub.id, entry)
            environment.checkpoint?("sync.applied")
            return (entry, applier.purged ? -1 : applier.appliedRecords)
        }
    }

    /// Tells the hub what was applied. A drop directory that cannot be written
    /// (a write-protected stick) does not stop the sync: it is a warning.
    private func writeReceipt(for hub: AcceptedHub, _ latest: SpokeLedger.Applied, into drop: DropDirectory) {
        do {
            let receipt = try Receipt(
                connection: hub.id, sequence: latest.sequence, bundleHash: latest.bundleHash,
                appliedAt: latest.appliedAt,
                signingKey: try signingKey.get())
            try Files.writeAtomically(try receipt.encoded(), to: drop.pathOf(drop.receiptName(hub.id)))
            environment.report(.receiptWritten(hub: hub.name, sequence: latest.sequence))
        } catch {
            environment.report(
                .warning(
                    "no receipt was written for \(hub.name) (\(error)); the hub keeps its bundles until a receipt reaches it"
                ))
        }
    }
}
