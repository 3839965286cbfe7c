#!/usr/bin/env bash
# A whole hub-to-spoke exchange on the fixtures, in a temporary directory.
# Usage: scripts/demo.sh PATH-TO-XOSHARE
set -euo pipefail
xoshare=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
fixtures=$(cd "$(dirname "$0")/../fixtures" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/xoshare-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
mkdir drop
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

say "Two orgs with their own databases"
sqlite3 acme.db < "$fixtures/hub.sql"
sqlite3 globex.db < "$fixtures/spoke.sql"
run "$xoshare" --home acme init --org "Acme Corp" --db acme.db
run "$xoshare" --home globex init --org "Globex Corporation" --db globex.db

say "The hub picks the objects and fields it shares"
run "$xoshare" --home acme hub share Account Id Name Industry AnnualRevenue Employees Website Logo CreditLimit
run "$xoshare" --home acme hub share Product Code Name ListPrice Quantity Datasheet Active
run "$xoshare" --home acme hub share Contact ContactId AccountId FirstName LastName Email Phone Photo

say "The hub creates a spoke connection: an invitation code, state Pending"
printf '$ CODE=$(xoshare --home acme hub invite globex)\n'
CODE=$("$xoshare" --home acme hub invite globex)
echo "$CODE"
run "$xoshare" --home acme status

say "The spoke checks who the hub is and accepts: Contacting Hub"
run "$xoshare" --home globex spoke accept "$CODE" --drop drop --yes

say "The hub picks up the acceptance (Connected) and exports a bundle"
run "$xoshare" --home acme hub export --drop drop
ls -l drop

say "The spoke syncs: the bundle is verified, decrypted and applied"
run "$xoshare" --home globex spoke sync --drop drop
run "$xoshare" --home globex status

say "A second sync is safe: nothing is applied twice"
run "$xoshare" --home globex spoke sync --drop drop

say "The hub's data changes; the next export carries only the changes"
run sqlite3 acme.db "UPDATE Account SET Employees = 1300 WHERE Id = 1; DELETE FROM Contact WHERE ContactId = 101; INSERT INTO Product VALUES ('NEW-1', 'New product', 5.0, 10, NULL, 1, 2.0)"
run "$xoshare" --home acme hub export --drop drop
run "$xoshare" --home globex spoke sync --drop drop
run "$xoshare" --home acme hub export --drop drop
run "$xoshare" --home acme status

say "The spoke's __xo tables"
for table in Account__xo Product__xo Contact__xo; do
    echo "-- $table"
    sqlite3 -header -quote globex.db "SELECT * FROM \"$table\""
done
echo
leaked=$(sqlite3 globex.db "SELECT count(*) FROM sqlite_schema m, pragma_table_info(m.name) p WHERE m.name LIKE '%\\_\\_xo' ESCAPE '\\' AND p.name IN ('InternalNotes', 'Cost', 'Birthdate')")
echo "Columns the hub did not share (Account.InternalNotes, Product.Cost, Contact.Birthdate) found on the spoke: $leaked"
