#!/usr/bin/env bash
# Measures xoshare against the sqlite3 toolchain on the same machine, in one run.
# Usage: scripts/bench.sh          (make bench; N=rows, default 1000000; FANOUT=0 skips the 50-spoke part)
# Prints one table: wall time, rows/s, bytes, peak RSS, and xoshare / pipeline ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000000}
FANOUT=${FANOUT:-1}
xoshare=$PWD/.build/release/xoshare
work=${BENCH_DIR:-$PWD/bench-work}
rm -rf "$work"
mkdir -p "$work/drop"
cd "$work"
results=$work/results.tsv
: > "$results"

# measure NAME ROWS BYTES-FILE -- COMMAND...: wall seconds and peak RSS of one command.
measure() {
    local name=$1 rows=$2 bytes_file=$3
    shift 4
    # Flush what the previous steps wrote, so that no step pays for another's writeback.
    sync
    /usr/bin/time -f "%e %M" -o time.out "$@" > /dev/null
    local wall rss bytes=-
    read -r wall rss < time.out
    if [ "$bytes_file" != - ]; then bytes=$(stat -c %s $bytes_file | awk '{s+=$1} END {print s}'); fi
    printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$rows" "$wall" "$bytes" "$rss" >> "$results"
}

echo "Generating a hub of $N rows (10 fields of mixed types) ..."
sqlite3 hub.db > /dev/null <<SQL
PRAGMA journal_mode = OFF;
CREATE TABLE Item (
    Id INTEGER PRIMARY KEY, Code TEXT NOT NULL, Quantity INTEGER, Price REAL, Note TEXT,
    Big INTEGER, Active INTEGER, Description TEXT, Ratio REAL, Label TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $N)
INSERT INTO Item SELECT i, 'CODE-' || i, i % 1000, i * 0.37,
    CASE WHEN i % 3 = 0 THEN NULL ELSE 'note ' || i END, i * 1234567891, i % 2,
    printf('%.*c', 20 + i % 200, 'x'), 1.0 / i,
    CASE WHEN i % 5 = 0 THEN NULL ELSE hex(randomblob(8)) END
FROM n;
SQL
sqlite3 spoke.db 'CREATE TABLE Own (Id INTEGER PRIMARY KEY)'
"$xoshare" --home hub init --org Hub --db hub.db > /dev/null
"$xoshare" --home spoke init --org Spoke --db spoke.db > /dev/null
"$xoshare" --home hub hub share Item > /dev/null
code=$("$xoshare" --home hub hub invite spoke)
"$xoshare" --home spoke spoke accept "$code" --drop drop --yes > /dev/null
sync
# The first export picks up the acceptance and writes the snapshot of all N rows.
measure "full export" "$N" 'drop/*.xob' -- "$xoshare" --home hub hub export --drop drop
measure "full export (pipeline)" "$N" dump.zst -- sh -c 'sqlite3 hub.db .dump | zstd -3 -q -T0 > dump.zst'
measure "first import" "$N" - -- "$xoshare" --home spoke spoke sync --drop drop
measure "first import (pipeline)" "$N" - -- sh -c 'zstd -dc dump.zst | sqlite3 new.db'

# Change capture on from here: the org database logs changed keys (triggers), which
# delta exports read. (Turned on after the dump, so that the pipeline's copy has no triggers.)
"$xoshare" --home hub hub capture on > /dev/null
changed=$((N / 100))
cp hub.db old.db
# The same database without the capture triggers, to time the hub's own writes without them.
cp hub.db plain.db
sqlite3 plain.db "SELECT 'DROP TRIGGER \"' || name || '\";' FROM sqlite_schema WHERE type = 'trigger'" | sqlite3 plain.db
# change_rows OFFSET (0..99): updates a third of 1% of the rows, deletes a third, inserts a third.
# Offsets 0 and 30 pick rows of the same shape (NULL Note and Label), so both deltas weigh the same.
change_rows() {
    cat <<SQL
UPDATE Item SET Quantity = Quantity + 1, Note = 'changed' WHERE Id % 300 = $1;
DELETE FROM Item WHERE Id % 300 = $1 + 100;
INSERT INTO Item (Id, Code, Quantity, Price) SELECT $N * ($1 + 2) + Id, 'NEW-' || Id, 1, 2.5 FROM Item WHERE Id % 300 = $1 + 200;
SQL
}
change_rows 0 > change-a.sql
change_rows 30 > change-b.sql
measure "1% change, no capture" "$changed" - -- sh -c 'sqlite3 plain.db < change-a.sql'
measure "1% change, capture on" "$changed" - -- sh -c 'sqlite3 hub.db < change-a.sql'
rm -f drop/*.xob
# First the way without capture: every shared record read and compared with its last export.
measure "delta export, compare all" "$changed" 'drop/*.xob' -- "$xoshare" --home hub hub export --drop drop --rescan
measure "delta export (pipeline)" "$changed" diff.zst -- sh -c 'sqldiff --table Item old.db hub.db | zstd -3 -q > diff.zst'
measure "delta import" "$changed" - -- "$xoshare" --home spoke spoke sync --drop drop
# sqldiff writes one statement at a time: one transaction around them, as a careful user would.
measure "delta import (pipeline)" "$changed" - -- sh -c '(echo "BEGIN;"; zstd -dc diff.zst; echo "COMMIT;") | sqlite3 new.db'
# Then another 1% of the rows, found through the change log.
sqlite3 hub.db < change-b.sql
rm -f drop/*.xob
measure "delta export, capture" "$changed" 'drop/*.xob' -- "$xoshare" --home hub hub export --drop drop
"$xoshare" --home spoke spoke sync --drop drop > /dev/null

if [ "$FANOUT" = 1 ]; then
    echo "Fan-out: 100000 rows, 50 spokes ..."
    mkdir -p fan/drop
    cd fan
    sqlite3 hub.db "ATTACH '../old.db' AS o; CREATE TABLE Item (Id INTEGER PRIMARY KEY, Code TEXT NOT NULL,
        Quantity INTEGER, Price REAL, Note TEXT, Big INTEGER, Active INTEGER, Description TEXT, Ratio REAL,
        Label TEXT); INSERT INTO Item SELECT * FROM o.Item WHERE Id <= 100000;"
    "$xoshare" --home hub init --org Hub --db hub.db > /dev/null
    "$xoshare" --home hub hub share Item > /dev/null
    for i in $(seq 1 50); do
        "$xoshare" --home "s$i" init --org "Spoke $i" --db "s$i.db" > /dev/null
        c=$("$xoshare" --home hub hub invite "spoke$i")
        "$xoshare" --home "s$i" spoke accept "$c" --drop drop --yes > /dev/null
    done
    measure "fan-out full, 50 spokes" 100000 'drop/*.xob' -- "$xoshare" --home hub hub export --drop drop
    sqlite3 hub.db "UPDATE Item SET Quantity = Quantity + 1 WHERE Id % 300 = 0; DELETE FROM Item WHERE Id % 300 = 100;
        INSERT INTO Item (Id, Code) SELECT 200000 + Id, 'N' FROM Item WHERE Id % 300 = 200;"
    rm -f drop/*.xob
    measure "fan-out delta, 50 spokes" 1000 'drop/*.xob' -- "$xoshare" --home hub hub export --drop drop
    cd ..
fi

python3 - "$results" "$N" <<'PY'
import sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1])]
data = {r[0]: r for r in rows}
def pipeline_of(name):
    """The pipeline step a step of xoshare compares with."""
    if name.endswith("(pipeline)") or name.startswith("1% change"):
        return None
    return name.split(",")[0] + " (pipeline)" if name.startswith("delta export") else name + " (pipeline)"
print(f"\nxoshare benchmark, N = {int(sys.argv[2]):,} rows\n")
print(f"| {'step':<28} | {'rows':>9} | {'wall s':>7} | {'rows/s':>10} | {'bytes':>12} | {'peak RSS MiB':>12} | {'xoshare / pipeline':>18} |")
print(f"|{'-'*30}|{'-'*11}|{'-'*9}|{'-'*12}|{'-'*14}|{'-'*14}|{'-'*20}|")
for name, count, wall, size, rss in rows:
    wall_f = float(wall)
    rate = f"{int(count) / wall_f:,.0f}" if wall_f > 0 else "-"
    ratio = ""
    pair = pipeline_of(name)
    if pair in data:
        other = float(data[pair][2])
        ratio = f"{wall_f / other:.2f}" if other > 0 else "-"
    mem = f"{int(rss) / 1024:.1f}" if not name.endswith("(pipeline)") and not name.startswith("1% change") else "-"
    size_s = f"{int(size):,}" if size != "-" else "-"
    print(f"| {name:<28} | {int(count):>9,} | {wall_f:>7.2f} | {rate:>10} | {size_s:>12} | {mem:>12} | {ratio:>18} |")
def wall(name):
    return float(data[name][2]) if name in data else None
notes = []
for name in ("delta export, compare all", "delta export, capture"):
    if wall(name) and wall("full export"):
        notes.append(f"{name} / full export: {wall(name) / wall('full export'):.2f}")
if wall("1% change, capture on") and wall("1% change, no capture"):
    notes.append(
        f"the hub's 1% change with capture triggers / without: {wall('1% change, capture on') / wall('1% change, no capture'):.2f}")
if wall("delta import") and wall("first import"):
    notes.append(f"delta import / first import: {wall('delta import') / wall('first import'):.2f}")
if "full export" in data and "full export (pipeline)" in data:
    notes.append(f"bundle size / zstd'd dump: {int(data['full export'][3]) / int(data['full export (pipeline)'][3]):.2f}")
for name in ("fan-out full, 50 spokes", "fan-out delta, 50 spokes"):
    if wall(name):
        notes.append(f"{name}: {wall(name) / 50 * 1000:.0f} ms per spoke")
print()
for note in notes:
    print("- " + note)
PY
