#!/usr/bin/env bash
# Layouts for the deps resolver, one scenario per loader rule (see Tests/LinkerTests/FixtureTests.swift):
#   rpath/      DT_RPATH of the program is inherited by its libraries' needs
#   runpath/    DT_RUNPATH is not: libdep's need of libleaf is not found
#   origin/     $ORIGIN of a program reached through a symlink is its real directory
#   env/        RPATH beats LD_LIBRARY_PATH, LD_LIBRARY_PATH beats RUNPATH
#   hwcaps/     glibc-hwcaps/x86-64-v2 is preferred over the plain directory
#   missing/    a NEEDED that exists nowhere
#   cycle/      two libraries needing each other
#   nodeflib/   -z nodefaultlib: libc.so.6 is not looked up in the cache or default directories
#   wrongclass/ a 32-bit (patched class byte) copy shadowing the right library is skipped
#   notelf/     a text file in the search path stops the search
#   mark/       PT_INTERP is a script that would leave a mark if anything ran it
# Idempotent and fast; never fails on a machine with gcc.
set -euo pipefail
src=$(cd "$(dirname "$0")" && pwd)
out=$1
cc=${CC:-gcc}
lib() { # lib OUTFILE SONAME NAME [extra ld args...]
    local file=$1 soname=$2 name=$3; shift 3
    mkdir -p "$(dirname "$file")"
    $cc -shared -fPIC -O1 -DLIBNAME="\"$name\"" -o "$file" "$src/lib.c" -Wl,-soname,"$soname" -Wl,--no-as-needed "$@"
}
prog() { # prog OUTFILE [extra args...]
    mkdir -p "$(dirname "$1")"
    local file=$1; shift
    $cc -O1 -o "$file" "$src/prog.c" -Wl,--no-as-needed "$@"
}
# Other test processes may be reading these fixtures while this script runs again (under the lock): rebuild
# only when the sources or the output folder changed, so a finished layout is never torn down under them.
stamp=$(cat "$src/build.sh" "$src/lib.c" "$src/prog.c" <(echo "$out") <($cc --version) | sha1sum | cut -d' ' -f1)
if [ -f "$out/.stamp" ] && [ "$(cat "$out/.stamp")" = "$stamp" ] && [ -x "$out/mark/prog" ]; then exit 0; fi
rm -f "$out/.stamp"
rm -rf "$out"/{rpath,runpath,origin,env,hwcaps,missing,cycle,nodeflib,wrongclass,notelf,mark}

# rpath/: prog --RPATH(lib)--> libdep --(no paths; inherits prog's RPATH)--> libleaf
lib "$out/rpath/lib/libleaf.so" libleaf.so leaf
lib "$out/rpath/lib/libdep.so" libdep.so dep -L"$out/rpath/lib" -lleaf
prog "$out/rpath/prog" -L"$out/rpath/lib" -ldep -Wl,--disable-new-dtags,-rpath,"$out/rpath/lib"

# runpath/: same, but RUNPATH: it serves prog's own needs only
lib "$out/runpath/lib/libleaf.so" libleaf.so leaf
lib "$out/runpath/lib/libdep.so" libdep.so dep -L"$out/runpath/lib" -lleaf
prog "$out/runpath/prog" -L"$out/runpath/lib" -ldep -Wl,--enable-new-dtags,-rpath,"$out/runpath/lib" -Wl,-rpath-link,"$out/runpath/lib"

# origin/: real/bin/prog has RPATH $ORIGIN/../lib; link/prog is a symlink to it from elsewhere
lib "$out/origin/real/lib/libdep.so" libdep.so dep
prog "$out/origin/real/bin/prog" -L"$out/origin/real/lib" -ldep -Wl,--disable-new-dtags,-rpath,'$ORIGIN/../lib'
mkdir -p "$out/origin/link/deeper"
ln -sfn ../../real/bin/prog "$out/origin/link/deeper/prog"

# env/: libx.so in three directories; which one wins tells the order
for where in rpath envdir runpath; do lib "$out/env/$where/libx.so" libx.so "$where"; done
prog "$out/env/prog-rpath" -L"$out/env/rpath" -lx -Wl,--disable-new-dtags,-rpath,"$out/env/rpath"
prog "$out/env/prog-runpath" -L"$out/env/runpath" -lx -Wl,--enable-new-dtags,-rpath,"$out/env/runpath"

# hwcaps/: the x86-64-v2 build is chosen over the baseline one on any CPU that supports v2
lib "$out/hwcaps/lib/libh.so" libh.so baseline
lib "$out/hwcaps/lib/glibc-hwcaps/x86-64-v2/libh.so" libh.so v2
prog "$out/hwcaps/prog" -L"$out/hwcaps/lib" -lh -Wl,--enable-new-dtags,-rpath,"$out/hwcaps/lib"

# missing/: linked against a library that is then removed
lib "$out/missing/gone/libgone.so" libgone.so gone
prog "$out/missing/prog" -L"$out/missing/gone" -lgone -Wl,--enable-new-dtags,-rpath,"$out/missing/nowhere"
rm -rf "$out/missing/gone"

# cycle/: libcyc1 <-> libcyc2, found through $ORIGIN
lib "$out/cycle/libcyc1.so" libcyc1.so cyc1
lib "$out/cycle/libcyc2.so" libcyc2.so cyc2 -L"$out/cycle" -lcyc1 -Wl,--no-as-needed
lib "$out/cycle/libcyc1.so" libcyc1.so cyc1 -Wl,--no-as-needed -L"$out/cycle" -lcyc2 -Wl,--enable-new-dtags,-rpath,'$ORIGIN'
prog "$out/cycle/prog" -L"$out/cycle" -lcyc1 -Wl,--enable-new-dtags,-rpath,"$out/cycle"

# nodeflib/: -z nodefaultlib with a RUNPATH that has no libc: libc.so.6 is not found
mkdir -p "$out/nodeflib/empty"
prog "$out/nodeflib/prog" -Wl,-z,nodefaultlib -Wl,--enable-new-dtags,-rpath,"$out/nodeflib/empty"

# wrongclass/: first directory holds a copy whose ELF class byte says 32-bit
lib "$out/wrongclass/good/libw.so" libw.so good
mkdir -p "$out/wrongclass/bad"
cp "$out/wrongclass/good/libw.so" "$out/wrongclass/bad/libw.so"
printf '\001' | dd of="$out/wrongclass/bad/libw.so" bs=1 seek=4 conv=notrunc status=none
prog "$out/wrongclass/prog" -L"$out/wrongclass/good" -lw -Wl,--enable-new-dtags,-rpath,"$out/wrongclass/bad:$out/wrongclass/good"

# notelf/: a text file named like the library comes first in the path
lib "$out/notelf/good/libn.so" libn.so good
mkdir -p "$out/notelf/bad"
echo 'INPUT(-lc)' > "$out/notelf/bad/libn.so"
prog "$out/notelf/prog" -L"$out/notelf/good" -ln -Wl,--enable-new-dtags,-rpath,"$out/notelf/bad:$out/notelf/good"

# mark/: PT_INTERP names a script; if anything executed it, the mark file would appear
mkdir -p "$out/mark"
printf '#!/bin/sh\ntouch "%s/mark/ran"\n' "$out" > "$out/mark/interp.sh"
chmod +x "$out/mark/interp.sh"
prog "$out/mark/prog" -Wl,--dynamic-linker="$out/mark/interp.sh"
rm -f "$out/mark/ran"
echo "$stamp" > "$out/.stamp"
