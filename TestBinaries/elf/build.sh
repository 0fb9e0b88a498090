#!/usr/bin/env bash
# Fixtures for the ELF reader: a PIE with an RPATH, one with a RUNPATH and NODEFLIB, a shared object with
# a SONAME and version definitions, a static program and a 32-bit object when the compiler can make one.
set -euo pipefail
src=$(cd "$(dirname "$0")" && pwd)
out=$1
cc=${CC:-gcc}
$cc -O1 -o "$out/hello-rpath" "$src/hello.c" -lm -Wl,--disable-new-dtags,-rpath,'$ORIGIN/lib:/opt/x'
$cc -O1 -o "$out/hello-runpath" "$src/hello.c" -lm -Wl,--enable-new-dtags,-rpath,/opt/y,-z,now
printf 'VERS_1 { global: lib_one; local: *; };\nVERS_2 { global: lib_two; } VERS_1;\n' > "$out/libvers.map"
printf 'int lib_one(void){return 1;}\nint lib_two(void){return 2;}\n' > "$out/libvers.c"
$cc -shared -fPIC -o "$out/libvers.so.1" "$out/libvers.c" -Wl,-soname,libvers.so.1,--version-script,"$out/libvers.map",-z,nodefaultlib
$cc -static -O1 -o "$out/hello-static" "$src/hello.c" -lm
