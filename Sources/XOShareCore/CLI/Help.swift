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
          hub invite SPOKE [--expires DAYS]
                                         create a Pending connection; prints its invitation code
          hub export --drop DIR          pick up acceptances, write a bundle for every Connected spoke
          spoke accept CODE --drop DIR [--name NAME] [--yes]
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
        Usage: xoshare hub share|unshare|invite|export ...

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
        "hub invite": """
        Usage: xoshare hub invite SPOKE [--expires DAYS]

        Creates a spoke connection named SPOKE in state Pending and prints its
        invitation code alone on standard output. Give the code to the other org
        by a channel you trust. The code expires after DAYS days (default 14).
        """,
        "hub export": """
        Usage: xoshare hub export --drop DIR

        First reads the acceptances in DIR and turns those connections Connected,
        then writes one signed, encrypted bundle for every Connected spoke into DIR.
        """,
        "spoke": """
        Usage: xoshare spoke accept|sync ...

        The spoke side: accept a hub's invitation, then sync its bundles.
        See 'xoshare help spoke accept' and 'xoshare help spoke sync'.
        """,
        "spoke accept": """
        Usage: xoshare spoke accept CODE --drop DIR [--name NAME] [--yes]

        Decodes the invitation code, shows the hub's org name and key fingerprint
        and asks you to confirm them (unless --yes), then writes an acceptance
        into DIR. The hub shows as Contacting Hub until its first bundle is
        applied. NAME is what this org calls the hub (default: from its org name).
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
