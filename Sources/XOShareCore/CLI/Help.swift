/// The texts of `xoshare help [COMMAND]`; the man page xoshare(1) says the same at length.
enum HelpText {
    static let version = "0.1.0"

    static let overview = """
        xoshare \(version): share records between two organisations through a drop directory.

        Usage: xoshare [--home DIR] [--json] [--quiet] COMMAND ...

        Commands:
          init --org NAME --db PATH      set up this org (key pair and state under --home)
          status                         show the org, its shares, spokes and hubs
          hub share OBJECT [FIELD ...]   share a table (all columns when no field is named)
          hub unshare OBJECT             stop sharing a table
          hub capture on|off             log the shared tables' changes in the org database (faster deltas)
          hub invite SPOKE [--expires DAYS]
                                         create a Pending connection; prints its invitation code
          hub uninvite SPOKE             cancel a Pending invitation
          hub export --drop DIR [--full [SPOKE ...]] [--expires DAYS] [--rescan]
                                         pick up acceptances, write a bundle for every Connected spoke
          hub revoke SPOKE [--purge] [--drop DIR]
                                         end a connection; the spoke learns it from a last bundle
          spoke accept CODE --drop DIR [--name NAME] [--prefix PREFIX] [--yes]
                                         accept a hub's invitation code
          spoke sync --drop DIR          verify and apply new bundles from accepted hubs
          help [COMMAND]                 show help for a command

        Global options:
          --home DIR   the org's state folder (default: $XOSHARE_HOME, else ./.xoshare)
          --json       print one JSON object on standard output
          --quiet      print nothing but errors (and the invitation code)
          --version    print the version

        Exit codes: 0 success, 64 usage, 65 bad data, 66 missing input, 73 cannot create,
        74 I/O error, 75 try again later, 77 permission, 78 configuration. See xoshare(1).
        """

    static let topics: [String: String] = [
        "init": """
        Usage: xoshare init --org NAME --db PATH

        Creates this org's identity (an Ed25519 key pair; the private key is
        HOME/identity.key, mode 0600) and its state (HOME/state.db). PATH is the
        org's own SQLite database; it is created if missing.
        """,
        "status": """
        Usage: xoshare status [--json]

        Shows the org, its key fingerprint, the objects it shares, its spoke
        connections and the hubs it accepted, each with its state: Pending,
        Contacting Hub or Connected.
        """,
        "hub": """
        Usage: xoshare hub share|unshare|capture|invite|uninvite|export|revoke ...

        The hub side: choose what to share, invite spokes, export bundles.
        See 'xoshare help hub share' and the others.
        """,
        "hub share": """
        Usage: xoshare hub share OBJECT [FIELD ...]

        Shares the table OBJECT of the org database with the listed columns, or
        all of its columns when none are listed. The primary key is always
        shared. Running it again replaces the field list. The table must have a
        single-column primary key.
        """,
        "hub unshare": """
        Usage: xoshare hub unshare OBJECT

        Stops sharing OBJECT. The next export no longer carries it, and each
        spoke drops its copy on the next sync.
        """,
        "hub capture": """
        Usage: xoshare hub capture on|off

        on: adds to the org database a change log (tables xoshare_change_log and
        xoshare_change_log_reader) and three triggers per shared table that log
        the key of every record inserted, updated or deleted. An export then
        reads only the logged records instead of comparing every shared record
        with its last export. A table with a UNIQUE constraint besides its
        primary key gets no triggers and is still compared in full. Whenever the
        log cannot be trusted (missing or changed triggers, a restored database)
        the export compares in full and says so. off: removes them again.
        """,
        "hub uninvite": """
        Usage: xoshare hub uninvite SPOKE

        Cancels the Pending invitation of SPOKE: its code is refused from then on.
        """,
        "hub revoke": """
        Usage: xoshare hub revoke SPOKE [--purge] [--drop DIR]

        Ends the connection with SPOKE. A last bundle (written now with --drop,
        else by the next export) tells the spoke; with --purge it deletes its copies.
        """,
        "hub invite": """
        Usage: xoshare hub invite SPOKE [--expires DAYS]

        Creates a spoke connection named SPOKE in state Pending and prints its
        invitation code alone on standard output. Give the code to the other org
        by a channel you trust. The code expires after DAYS days (default 14).
        """,
        "hub export": """
        Usage: xoshare hub export --drop DIR [--full [SPOKE ...]] [--expires DAYS] [--rescan]

        First reads the acceptances and receipts in DIR and turns those
        connections Connected, then writes one signed, encrypted bundle for every
        Connected spoke that has something new into DIR. --full: complete
        snapshots (for the named spokes, or all). --expires: days until the
        bundles expire (default 30). --rescan: with change capture on, compare
        every shared record anyway.
        """,
        "spoke": """
        Usage: xoshare spoke accept|sync ...

        The spoke side: accept a hub's invitation, then sync its bundles.
        See 'xoshare help spoke accept' and 'xoshare help spoke sync'.
        """,
        "spoke accept": """
        Usage: xoshare spoke accept CODE --drop DIR [--name NAME] [--prefix PREFIX] [--yes]

        Decodes the invitation code, shows the hub's org name and key fingerprint
        and asks you to confirm them (unless --yes), then writes an acceptance
        into DIR. The hub shows as Contacting Hub until its first bundle is
        applied. NAME is what this org calls the hub (default: from its org name).
        PREFIX goes before the names of the copied tables (needed by a second hub
        that shares a table of the same name).
        """,
        "spoke sync": """
        Usage: xoshare spoke sync --drop DIR

        Verifies and applies every new bundle in DIR from the hubs this org
        accepted, into tables named OBJECT__xo of the org database.
        """,
    ]

    static func text(for topic: [String]) throws -> String {
        if topic.isEmpty { return overview }
        let key = topic.joined(separator: " ")
        guard let text = topics[key] else {
            throw XOShareError.usage("There is no help on '\(key)'; run 'xoshare help' for the commands.")
        }
        return text
    }
}
