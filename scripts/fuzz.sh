#!/usr/bin/env bash
# Builds the libFuzzer harnesses in Fuzz/ and runs each for a bounded time.
# Usage: scripts/fuzz.sh [SECONDS-PER-TARGET]     (make fuzz FUZZ_SECONDS=...)
#        scripts/fuzz.sh seeds                    (rewrites the seed corpus in fixtures/fuzz/)
# Crashes land in .build/fuzz/crashes/; keep each as a regression case in fixtures/fuzz/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
out=.build/fuzz
mkdir -p "$out/crashes"
core=$(find Sources/XOShareCore -name '*.swift' | sort)
include=(-I Sources/CArchive -I Sources/CCrypto -I Sources/CSQLite)
libs=(-larchive -lcrypto -lsqlite3)

if [ "$seconds" = seeds ]; then
    swiftc -O -parse-as-library -module-name XOShareSeeds "${include[@]}" $core Fuzz/MakeSeeds.swift "${libs[@]}" -o "$out/make-seeds"
    "$out/make-seeds" fixtures/fuzz
    exit 0
fi

echo "== building the harness (Fuzz/FuzzEntry.swift with the library, -sanitize=fuzzer,address)"
swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name XOShareFuzz "${include[@]}" \
    $core Fuzz/FuzzEntry.swift "${libs[@]}" -o "$out/fuzz" 2> "$out/build.log" || { cat "$out/build.log"; exit 1; }

for target in invitation-code bundle-archive bundle-header; do
    corpus="$out/corpus/$target"
    mkdir -p "$corpus"
    cp fixtures/fuzz/"$target"/* "$corpus"/
    echo "== fuzzing $target for $seconds s"
    XOSHARE_FUZZ_TARGET=$target "$out/fuzz" "$corpus" -max_total_time="$seconds" -max_len=65536 \
        -rss_limit_mb=2048 -artifact_prefix="$out/crashes/$target-" -print_final_stats=1 2>&1 | tail -n 6
done
echo "No crash found. Crashes, if any, would be in $out/crashes/."
