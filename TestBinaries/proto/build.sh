#!/usr/bin/env bash
# Fixtures for the prototype and renderer end-to-end tests (Tests/CLITests/TraceRender*Tests.swift).
# Lazy binding and no IBT, so ltrace 0.7.3 sees the calls too and the tests can compare with it.
set -euo pipefail
src=$(cd "$(dirname "$0")" && pwd)
out=$1
cc=${CC:-gcc}
$cc -O0 -fno-builtin -fcf-protection=none -Wl,-z,lazy -o "$out/decode" "$src/decode.c"
