#!/usr/bin/env bash
# Prints a per-file line coverage report of the library after `swift test --enable-code-coverage`.
set -euo pipefail
bin_dir=$(swift build --show-bin-path)
profile="$bin_dir/codecov/default.profdata"
tests=$(find "$bin_dir" -maxdepth 1 -name '*PackageTests.xctest' | head -n 1)
llvm_cov=$(dirname "$(command -v swift)")/llvm-cov
"$llvm_cov" report "$tests" -instr-profile="$profile" -ignore-filename-regex='(\.build|Tests)/'
