import Foundation

/// Turns results and events into text for people or JSON for programs.
struct Output: Sendable {
    let options: GlobalOptions
    let console: Console

    static func json<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return "{}\n" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// Prints a command's result: the JSON object with --json, else the text unless --quiet.
    func result<T: Encodable>(json value: T, text: String) {
        if options.json {
            console.standardOutput(Self.json(value))
        } else if !options.quiet {
            console.standardOutput(text)
        }
    }

    /// Shows one event as it happens: progress on standard output, problems on standard error.
    func show(_ event: Event) {
        switch event {
        case .fileRefused, .bundleRefused, .warning:
            console.standardError("xoshare: " + Self.line(for: event) + "\n")
        default:
            guard !options.json && !options.quiet else { return }
            console.standardOutput(Self.line(for: event) + "\n")
        }
    }

    static func line(for event: Event) -> String {
        switch event {
        case .connectionAccepted(let spoke, let spokeOrg, let fingerprint):
            "Spoke \(spoke) is now Connected (org \(spokeOrg), key \(fingerprint))."
        case .fileRefused(let file, let reason):
            "refused \(file): \(reason)."
        case .receiptRead(let spoke, let sequence, let removed):
            "Spoke \(spoke) acknowledged bundle \(sequence); removed \(removed) acknowledged bundle(s)."
        case .bundleWritten(let spoke, let file, let sequence, let kind, let records, let bytes):
            "Wrote \(file) for \(spoke): bundle \(sequence) (\(kind)), \(records) records, \(bytes) bytes."
        case .nothingToExport(let spoke, let sequence):
            "Nothing changed for \(spoke) since bundle \(sequence): no bundle written."
        case .bundleApplied(let hub, let file, let sequence, let kind, let records):
            "Applied \(file) from \(hub): bundle \(sequence) (\(kind)), \(max(records, 0)) records."
        case .bundleSkipped(let hub, let file, let reason):
            "Skipped \(file) from \(hub): \(reason)."
        case .bundleRefused(let hub, let file, let reason):
            "hub \(hub): \(file) not applied: \(reason)"
        case .hubRevoked(let hub, let purged):
            "Hub \(hub) revoked the connection" + (purged ? "; its copies were deleted." : "; its copies are kept.")
        case .receiptWritten(let hub, let sequence):
            "Wrote a receipt for \(hub): bundle \(sequence) applied."
        case .nothingNew(let hub):
            "No new bundle from \(hub)."
        case .warning(let text):
            "warning: \(text)"
        }
    }

    struct BundleLine: Encodable {
        var spoke: String?
        var hub: String?
        var file: String?
        var sequence: Int64?
        var kind: String?
        var records: Int64?
        var bytes: Int64?
        var reason: String?
    }

    struct ExportSummary: Encodable {
        var accepted: [[String: String]] = []
        var refused: [BundleLine] = []
        var acknowledged: [BundleLine] = []
        var bundles: [BundleLine] = []
        var unchanged: [BundleLine] = []
        var warnings: [String] = []
        var error: String?
        var exitCode: Int32
    }

    static func exportSummary(_ events: [Event], error: (any Error)?) -> ExportSummary {
        var summary = ExportSummary(exitCode: error?.exitCode.rawValue ?? 0)
        summary.error = error.map { String(describing: $0) }
        for event in events {
            switch event {
            case .connectionAccepted(let spoke, let org, let fingerprint):
                summary.accepted.append(
                    ["spoke": spoke, "spokeOrg": org, "spokeFingerprint": fingerprint, "state": "Connected"])
            case .fileRefused(let file, let reason):
                summary.refused.append(BundleLine(file: file, reason: reason))
            case .receiptRead(let spoke, let sequence, _):
                summary.acknowledged.append(BundleLine(spoke: spoke, sequence: sequence))
            case .bundleWritten(let spoke, let file, let sequence, let kind, let records, let bytes):
                summary.bundles.append(
                    BundleLine(spoke: spoke, file: file, sequence: sequence, kind: kind, records: records, bytes: bytes)
                )
            case .nothingToExport(let spoke, let sequence):
                summary.unchanged.append(BundleLine(spoke: spoke, sequence: sequence))
            case .warning(let text):
                summary.warnings.append(text)
            default: break
            }
        }
        return summary
    }

    struct SyncSummary: Encodable {
        var applied: [BundleLine] = []
        var skipped: [BundleLine] = []
        var refused: [BundleLine] = []
        var receipts: [BundleLine] = []
        var warnings: [String] = []
        var error: String?
        var exitCode: Int32
    }

    static func syncSummary(_ events: [Event], error: (any Error)?) -> SyncSummary {
        var summary = SyncSummary(exitCode: error?.exitCode.rawValue ?? 0)
        summary.error = error.map { String(describing: $0) }
        for event in events {
            switch event {
            case .bundleApplied(let hub, let file, let sequence, let kind, let records):
                summary.applied.append(
                    BundleLine(hub: hub, file: file, sequence: sequence, kind: kind, records: max(records, 0)))
            case .bundleSkipped(let hub, let file, let reason):
                summary.skipped.append(BundleLine(hub: hub, file: file, reason: reason))
            case .bundleRefused(let hub, let file, let reason):
                summary.refused.append(BundleLine(hub: hub, file: file, reason: reason))
            case .receiptWritten(let hub, let sequence):
                summary.receipts.append(BundleLine(hub: hub, sequence: sequence))
            case .warning(let text):
                summary.warnings.append(text)
            default: break
            }
        }
        return summary
    }

    static func text(of report: StatusReport) -> String {
        var lines = [
            "Org:          \(report.org)",
            "Fingerprint:  \(report.fingerprint)",
            "Home:         \(report.home)",
            "Database:     \(report.database)",
            "Change capture: \(report.changeCapture)",
            "",
            "Shared objects:" + (report.shares.isEmpty ? " none" : ""),
        ]
        for share in report.shares {
            lines.append("  \(share.object) (key \(share.primaryKey)): \(share.fields.joined(separator: ", "))")
        }
        lines.append("")
        lines.append("Spoke connections (this org as hub):" + (report.spokes.isEmpty ? " none" : ""))
        for spoke in report.spokes {
            var line = "  \(spoke.name) [\(spoke.state)] connection \(spoke.connection)"
            if let org = spoke.spokeOrg { line += ", org \(org)" }
            if spoke.lastSequence > 0 {
                line += ", last bundle \(spoke.lastSequence) at \(spoke.lastExportedAt ?? "?")"
                line +=
                    spoke.acknowledgedSequence > 0
                    ? ", acknowledged \(spoke.acknowledgedSequence) at \(spoke.acknowledgedAt ?? "?")"
                    : ", none acknowledged"
            } else if spoke.state == ConnectionState.pending.rawValue {
                line += ", invitation expires \(spoke.invitationExpiresAt)"
            }
            lines.append(line)
        }
        lines.append("")
        lines.append("Accepted hubs (this org as spoke):" + (report.hubs.isEmpty ? " none" : ""))
        for hub in report.hubs {
            var line = "  \(hub.name) [\(hub.state)] org \(hub.hubOrg), key \(hub.hubFingerprint)"
            if !hub.tablePrefix.isEmpty { line += ", tables \(hub.tablePrefix)*__xo" }
            if hub.appliedSequence > 0 {
                line +=
                    ", bundle \(hub.appliedSequence) applied at \(hub.appliedAt ?? "?") (made \(hub.createdAtHub ?? "?"))"
            }
            lines.append(line)
            for copy in hub.objects { lines.append("    \(copy.table): \(copy.rows) rows") }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
