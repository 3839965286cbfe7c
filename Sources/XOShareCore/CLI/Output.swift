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
        case .acceptanceRefused(let file, let reason):
            console.standardError("xoshare: refused the acceptance \(file): \(reason).\n")
        case .bundleRefused(let hub, let file, let reason):
            console.standardError("xoshare: hub \(hub): \(file) not applied: \(reason)\n")
        case .warning(let text):
            console.standardError("xoshare: warning: \(text)\n")
        default:
            guard !options.json && !options.quiet else { return }
            console.standardOutput(Self.line(for: event) + "\n")
        }
    }

    static func line(for event: Event) -> String {
        switch event {
        case .connectionAccepted(let spoke, let spokeOrg, let fingerprint):
            "Spoke \(spoke) is now Connected (org \(spokeOrg), key \(fingerprint))."
        case .acceptanceRefused(let file, let reason):
            "Refused the acceptance \(file): \(reason)."
        case .bundleWritten(let spoke, let file, let sequence, let records, let bytes):
            "Wrote \(file) for \(spoke): bundle \(sequence), \(records) records, \(bytes) bytes."
        case .bundleApplied(let hub, let file, let sequence, let records):
            "Applied \(file) from \(hub): bundle \(sequence), \(records) records."
        case .bundleSkipped(let hub, let file, let reason):
            "Skipped \(file) from \(hub): \(reason)."
        case .bundleRefused(let hub, let file, let reason):
            "Did not apply \(file) from \(hub): \(reason)"
        case .nothingNew(let hub):
            "No new bundle from \(hub)."
        case .warning(let text):
            "Warning: \(text)"
        }
    }

    struct BundleLine: Encodable {
        var spoke: String?
        var hub: String?
        var file: String
        var sequence: Int64?
        var records: Int64?
        var bytes: Int64?
        var reason: String?
    }

    struct ExportSummary: Encodable {
        var accepted: [[String: String]] = []
        var refused: [[String: String]] = []
        var bundles: [BundleLine] = []
        var error: String?
        var exitCode: Int32
    }

    static func exportSummary(_ events: [Event], error: (any Error)?) -> ExportSummary {
        var summary = ExportSummary(exitCode: error?.exitCode.rawValue ?? 0)
        summary.error = error.map { String(describing: $0) }
        for event in events {
            switch event {
            case .connectionAccepted(let spoke, let org, let fingerprint):
                summary.accepted.append([
                    "spoke": spoke, "spokeOrg": org, "spokeFingerprint": fingerprint, "state": "Connected",
                ])
            case .acceptanceRefused(let file, let reason):
                summary.refused.append(["file": file, "reason": reason])
            case .bundleWritten(let spoke, let file, let sequence, let records, let bytes):
                summary.bundles.append(
                    BundleLine(spoke: spoke, file: file, sequence: sequence, records: records, bytes: bytes))
            default: break
            }
        }
        return summary
    }

    struct SyncSummary: Encodable {
        var applied: [BundleLine] = []
        var skipped: [BundleLine] = []
        var refused: [BundleLine] = []
    }

    static func syncSummary(_ events: [Event]) -> SyncSummary {
        var summary = SyncSummary()
        for event in events {
            switch event {
            case .bundleApplied(let hub, let file, let sequence, let records):
                summary.applied.append(BundleLine(hub: hub, file: file, sequence: sequence, records: records))
            case .bundleSkipped(let hub, let file, let reason):
                summary.skipped.append(BundleLine(hub: hub, file: file, reason: reason))
            case .bundleRefused(let hub, let file, let reason):
                summary.refused.append(BundleLine(hub: hub, file: file, reason: reason))
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
            } else if spoke.state == ConnectionState.pending.rawValue {
                line += ", invitation expires \(spoke.invitationExpiresAt)"
            }
            lines.append(line)
        }
        lines.append("")
        lines.append("Accepted hubs (this org as spoke):" + (report.hubs.isEmpty ? " none" : ""))
        for hub in report.hubs {
            var line = "  \(hub.name) [\(hub.state)] org \(hub.hubOrg), key \(hub.hubFingerprint)"
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
