import Foundation

/// Opt-in change capture (`xoshare hub capture on`): triggers in the org
/// database log the key of every record inserted, updated or deleted in a
/// shared object, so that an export reads and compares those records only,
/// instead of every record of the object.
///
/// What it adds to the org database (every name starts with `xoshare_`):
/// - `xoshare_change_log`: one row per change (`seq`, `object`, `key`);
/// - `xoshare_change_log_reader`: how far each hub home has read the log;
/// - three triggers per shared object, `xoshare_capture_<object>_insert`,
///   `_update` and `_delete`, which append to the log.
///
/// The log stands in for the full comparison of an object only when nothing
/// can have escaped it since the last export (`trustedObjects`):
/// - the hub's reader row holds the sequence the state recorded at the last
///   export (otherwise the org database went back in time, e.g. was restored
///   from a backup, or the last export could not record its progress there);
/// - the object's triggers are exactly the ones xoshare writes, and they were
///   already in place when the last export read the database;
/// - the object has no UNIQUE constraint but its primary key (an
///   `INSERT OR REPLACE` that removes a record for another column's sake fires
///   no trigger for it), so such an object gets no triggers at all.
/// Anything else: that object is compared in full, as without capture, and
/// the log stands in for it again from the next export.
enum ChangeCapture {
    static let logTable = "xoshare_change_log"
    static let readerTable = "xoshare_change_log_reader"
    static let triggerPrefix = "xoshare_capture_"

    /// The log rows one export stands in for: after `after`, up to `upTo` (its snapshot).
    struct Range: Sendable, Equatable {
        var after: Int64
        var upTo: Int64
    }

    /// The triggers that log the changes of `share`'s object, as SQLite stores them.
    static func triggers(for share: Share) -> [(name: String, sql: String)] {
        let table = quoteIdentifier(share.object)
        let key = quoteIdentifier(share.primaryKey)
        let object = quoteString(share.object)
        let log = "INSERT INTO \(logTable) (object, key) "
        func trigger(_ event: String, _ body: String) -> (name: String, sql: String) {
            let name = triggerPrefix + share.object + "_" + event.lowercased()
            return (
                name,
                "CREATE TRIGGER \(quoteIdentifier(name)) AFTER \(event) ON \(table) BEGIN \(body) END"
            )
        }
        return [
            trigger("INSERT", "\(log)VALUES (\(object), NEW.\(key));"),
            // A changed key is a deletion of the old one and an insertion of the new one.
            trigger(
                "UPDATE",
                "\(log)VALUES (\(object), OLD.\(key)); \(log)SELECT \(object), NEW.\(key) WHERE NEW.\(key) IS NOT OLD.\(key);"
            ),
            trigger("DELETE", "\(log)VALUES (\(object), OLD.\(key));"),
        ]
    }

    /// Why the triggers cannot see every change of `object`, or nil when they can.
    static func ineligibility(of object: String, in database: Database, schema: String = "main") throws -> String? {
        let indexes = try database.rows(
            "SELECT name FROM pragma_index_list(?, ?) WHERE \"unique\" AND origin <> 'pk'",
            [.string(object), .string(schema)])
        guard let index = indexes.first else { return nil }
        return
            "it has a UNIQUE constraint besides its primary key (\(index[0].string)), and a record that INSERT OR REPLACE removes for it is logged by no trigger"
    }

    /// The xoshare triggers in `schema` of `database`: name -> (table, SQL).
    static func installedTriggers(in database: Database, schema: String = "main") throws -> [String: (
        table: String, sql: String
    )] {
        var found: [String: (table: String, sql: String)] = [:]
        for row in try database.rows(
            "SELECT name, tbl_name, sql FROM \(quoteIdentifier(schema)).sqlite_schema WHERE type = 'trigger' AND substr(name, 1, ?) = ?",
            [.integer(Int64(triggerPrefix.utf8.count)), .string(triggerPrefix)])
        {
            found[row[0].string] = (row[1].string, row[2].string)
        }
        return found
    }

    /// Whether every trigger `share` needs is installed exactly as xoshare writes it.
    static func hasTriggers(_ share: Share, among installed: [String: (table: String, sql: String)]) -> Bool {
        triggers(for: share).allSatisfy { trigger in
            installed[trigger.name].map { $0.table == share.object && $0.sql == trigger.sql } ?? false
        }
    }

    /// What the org database lacks for logging the changes of exactly `shares`.
    struct Plan {
        /// Whether the log tables or this hub's reader row are missing.
        var needsLog = false
        /// Shared objects whose triggers are missing or differ: changes may have escaped the log.
        var recreated: [Share] = []
        /// xoshare triggers of objects that are not shared, or get none.
        var dropped: [String] = []
        /// Objects that get no triggers, and why.
        var ineligible: [(object: String, reason: String)] = []

        var isEmpty: Bool { !needsLog && recreated.isEmpty && dropped.isEmpty }
    }

    static func plan(for shares: [Share], reader: String, in database: Database) throws -> Plan {
        var plan = Plan()
        plan.needsLog =
            try !database.tableExists(logTable) || !database.tableExists(readerTable)
            || database.rows("SELECT 1 FROM \(readerTable) WHERE reader = ?", [.string(reader)]).isEmpty
        let installed = try installedTriggers(in: database)
        var wanted = Set<String>()
        for share in shares where try database.tableExists(share.object) {  // the export says when it is gone
            if let reason = try ineligibility(of: share.object, in: database) {
                plan.ineligible.append((share.object, reason))
                continue
            }
            wanted.formUnion(triggers(for: share).map(\.name))
            if !hasTriggers(share, among: installed) { plan.recreated.append(share) }
        }
        plan.dropped = installed.keys.filter { !wanted.contains($0) }.sorted()
        return plan
    }

    /// Makes the org database log the changes of exactly `shares`: creates the log
    /// and this hub's reader row if missing, writes the triggers that are missing or
    /// differ, and drops the others, in one transaction; writes nothing (takes no
    /// write lock) when all is in place. `forget` gets the objects whose triggers
    /// are about to be written, before they are.
    static func install(
        for shares: [Share], reader: String, in database: Database, forget: ([String]) throws -> Void
    ) throws -> Plan {
        let plan = try plan(for: shares, reader: reader, in: database)
        guard !plan.isEmpty else { return plan }
        return try database.transaction {
            try database.execute(
                """
                CREATE TABLE IF NOT EXISTS \(logTable) (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT, object TEXT NOT NULL, key);
                CREATE TABLE IF NOT EXISTS \(readerTable) (reader TEXT PRIMARY KEY, seq INTEGER NOT NULL);
                """)
            // A new reader starts at the end of the log: the first export compares everything.
            try database.run(
                "INSERT OR IGNORE INTO \(readerTable) (reader, seq) SELECT ?, \(lastSequence(in: "main"))",
                [.string(reader)])
            // Again under the write lock: this is what gets written.
            let plan = try self.plan(for: shares, reader: reader, in: database)
            try forget(plan.recreated.map(\.object))
            for share in plan.recreated {
                for trigger in triggers(for: share) {
                    try database.execute("DROP TRIGGER IF EXISTS \(quoteIdentifier(trigger.name))")
                    try database.execute(trigger.sql)
                }
            }
            for name in plan.dropped { try database.execute("DROP TRIGGER \(quoteIdentifier(name))") }
            return plan
        }
    }

    /// Removes this hub's reader and every xoshare trigger; the log goes too when
    /// no other hub home reads it.
    static func remove(reader: String, from database: Database) throws {
        try database.transaction {
            for name in try installedTriggers(in: database).keys {
                try database.execute("DROP TRIGGER IF EXISTS \(quoteIdentifier(name))")
            }
            guard try database.tableExists(readerTable) else { return }
            try database.run("DELETE FROM \(readerTable) WHERE reader = ?", [.string(reader)])
            if try database.rows("SELECT 1 FROM \(readerTable) LIMIT 1").isEmpty {
                try database.execute("DROP TABLE \(readerTable); DROP TABLE IF EXISTS \(logTable);")
            }
        }
    }

    /// What an export sees of the log, in its own snapshot of the org database
    /// (attached as `org` to `work`).
    struct Snapshot {
        /// The last sequence in the log.
        var top: Int64
        /// Where this hub's reader row says it stopped reading (nil: no row).
        var readerSequence: Int64?
        /// The objects whose triggers are in place, exactly as xoshare writes them.
        var objectsWithTriggers: Set<String>
    }

    static func snapshot(of shares: [Share], reader: String, in work: Database) throws -> Snapshot? {
        let tables = try work.rows(
            "SELECT name FROM org.sqlite_schema WHERE type = 'table' AND name IN (?, ?)",
            [.string(logTable), .string(readerTable)])
        guard tables.count == 2 else { return nil }
        let top = try work.rows("SELECT \(lastSequence(in: "org"))")[0][0].integer ?? 0
        let readerSequence = try work.rows(
            "SELECT seq FROM org.\(readerTable) WHERE reader = ?", [.string(reader)]
        ).first?[0].integer
        let installed = try installedTriggers(in: work, schema: "org")
        let objects = shares.filter { hasTriggers($0, among: installed) }
        return Snapshot(top: top, readerSequence: readerSequence, objectsWithTriggers: Set(objects.map(\.object)))
    }

    /// Records in the org database that this hub read the log up to `sequence`,
    /// and deletes the rows every reader has read.
    static func advance(reader: String, to sequence: Int64, in database: Database) throws {
        try database.transaction {
            try database.run(
                "UPDATE \(readerTable) SET seq = ? WHERE reader = ?", [.integer(sequence), .string(reader)])
            try database.execute(
                "DELETE FROM \(logTable) WHERE seq <= (SELECT min(seq) FROM \(readerTable))")
        }
    }

    /// An expression: the last sequence the log ever gave, even once its rows are
    /// deleted (AUTOINCREMENT keeps it in `sqlite_sequence`).
    static func lastSequence(in schema: String) -> String {
        """
        max(coalesce((SELECT seq FROM \(schema).sqlite_sequence WHERE name = '\(logTable)'), 0),
            coalesce((SELECT max(seq) FROM \(schema).\(logTable)), 0))
        """
    }

    static func quoteString(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "''") + "'"
    }
}

/// The hub's side of change capture: its settings in the state, and keeping the
/// triggers in line with the shares.
extension Org {
    static let captureSetting = "capture"
    static let captureReaderSetting = "capture_reader"
    static let captureSequenceSetting = "capture_sequence"

    /// Whether `hub capture on` is in effect.
    public var capturesChanges: Bool {
        get throws { try state.setting(Self.captureSetting) == "on" }
    }

    /// What `hub capture on` did.
    public struct CaptureReport: Sendable {
        /// Shared objects that got triggers.
        public var objects: [String]
        /// Shared objects compared in full on every export, and why.
        public var ineligible: [String: String]
    }

    /// Turns change capture on: the log, this hub's reader row and the triggers of
    /// every shared object are written to the org database.
    @discardableResult
    public func enableChangeCapture() throws -> CaptureReport {
        if try state.setting(Self.captureReaderSetting) == nil {
            try state.setSetting(Self.captureReaderSetting, try randomBytes(16).hexString)
        }
        guard let reader = try state.setting(Self.captureReaderSetting) else {
            preconditionFailure("the reader id was just saved")
        }
        // Written to the org database first: if that fails (locked, read-only), capture stays off.
        try state.database.execute("DELETE FROM captured_object")
        let plan = try ChangeCapture.install(
            for: try state.shares(), reader: reader, in: try openDatabase(readOnly: false), forget: { _ in })
        try state.setSetting(Self.captureSetting, "on")
        let ineligible = Dictionary(plan.ineligible, uniquingKeysWith: { first, _ in first })
        return CaptureReport(
            objects: try state.shares().map(\.object).filter { ineligible[$0] == nil }, ineligible: ineligible)
    }

    /// Turns change capture off and removes from the org database what it added.
    public func disableChangeCapture() throws {
        if let reader = try state.setting(Self.captureReaderSetting) {
            try ChangeCapture.remove(reader: reader, from: try openDatabase(readOnly: false))
        }
        try state.database.transaction {
            try state.database.run(
                "DELETE FROM setting WHERE name IN (?, ?)",
                [.string(Self.captureSetting), .string(Self.captureSequenceSetting)])
            try state.database.execute("DELETE FROM captured_object")
        }
    }

    /// Writes the triggers the shares need and drops the others, when capture is on.
    /// An object whose triggers had to be (re)written is compared in full by the next export.
    /// - Returns: those objects.
    @discardableResult
    func updateCaptureTriggers() throws -> [String] {
        guard try capturesChanges, let reader = try state.setting(Self.captureReaderSetting) else { return [] }
        let plan = try ChangeCapture.install(
            for: try state.shares(), reader: reader, in: try openDatabase(readOnly: false)
        ) { objects in
            // Forgotten before the triggers change: a run killed in between must not trust them.
            for object in objects {
                try state.database.run("DELETE FROM captured_object WHERE object = ?", [.string(object)])
            }
        }
        return plan.recreated.map(\.object)
    }
}

/// One export's use of the change log.
struct CaptureRun {
    var reader: String
    var snapshot: ChangeCapture.Snapshot
    /// What the log stands in for in this run (nil: every object is compared in full).
    var logged: ChangeTracker.LoggedChanges?
}

extension Org {
    /// Reads the change log's state in the export's snapshot (`work`, in its
    /// transaction) and decides which objects it stands in for.
    func beginCaptureRun(in work: Database, rescan: Bool) throws -> CaptureRun? {
        let state = StateStore(connection: work)
        guard try state.setting(Self.captureSetting) == "on",
            let reader = try state.setting(Self.captureReaderSetting),
            let snapshot = try ChangeCapture.snapshot(of: try state.shares(), reader: reader, in: work)
        else { return nil }
        var run = CaptureRun(reader: reader, snapshot: snapshot)
        guard let recorded = try state.setting(Self.captureSequenceSetting).flatMap({ Int64($0) }) else {
            return run  // the first export since capture was turned on
        }
        guard snapshot.readerSequence == recorded else {
            environment.report(
                .warning(
                    "the change log in the org database does not continue from the last export (was the database restored from a backup, or did the last export fail to record its progress there?); every shared record is compared this time"
                ))
            return run
        }
        guard !rescan else { return run }
        let lastVersion = Int64(try state.setting("tracking_version") ?? "0") ?? 0
        let established = try work.rows(
            "SELECT object FROM main.captured_object WHERE version = ?", [.integer(lastVersion)]
        ).map { $0[0].string }
        run.logged = ChangeTracker.LoggedChanges(
            range: ChangeCapture.Range(after: recorded, upTo: snapshot.top),
            objects: snapshot.objectsWithTriggers.intersection(established))
        return run
    }

    /// Records, in the export's transaction, what its snapshot covered: the log up
    /// to its last row, and the objects whose triggers were in place.
    func finishCaptureRun(_ run: CaptureRun, version: Int64, in work: Database) throws {
        try work.execute("DELETE FROM main.captured_object")
        for object in run.snapshot.objectsWithTriggers.sorted() {
            try work.run(
                "INSERT INTO main.captured_object(object, version) VALUES (?, ?)",
                [.string(object), .integer(version)])
        }
        try StateStore(connection: work).setSetting(Self.captureSequenceSetting, String(run.snapshot.top))
    }

    /// After the export's commit: tells the org database how far this hub read the
    /// log, which lets the rows every reader has read go. A failure costs the next
    /// export a full comparison, nothing more.
    func advanceCaptureLog(_ run: CaptureRun) {
        // Nothing logged since the last export: the reader row already says so.
        guard run.snapshot.readerSequence != run.snapshot.top else { return }
        do {
            try ChangeCapture.advance(
                reader: run.reader, to: run.snapshot.top, in: try openDatabase(readOnly: false))
        } catch {
            environment.report(
                .warning(
                    "could not record in the org database how far this export read its change log (\(error)); the next export compares every shared record"
                ))
        }
    }
}
