#!/usr/bin/env bash
# Builds every test fixture into OUT (default .build/testbinaries). Each area of TestBinaries/ has its own
# build.sh that takes its output folder; this script runs them all under a lock, so test processes running
# in parallel share one build.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-"$here/../.build/testbinaries"}
mkdir -p "$out"
out=$(cd "$out" && pwd)
exec 9>"$out/.lock"
flock 9
for script in "$here"/*/build.sh; do
    area=$(basename "$(dirname "$script")")
    mkdir -p "$out/$area"
    bash "$script" "$out/$area"
done
