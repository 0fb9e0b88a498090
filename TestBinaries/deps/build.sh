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
#   version/    version needs against the library the loader picks: prog-rp needs LIB_2.0, its RUNPATH finds
#               v1/libver.so.1 (LIB_1.0 only); prog-weak's need is VER_FLG_WEAK; prog-noinfo's RUNPATH finds
#               a libver without version definitions; prog-ok loads v2
#   undef/      libplain v1 lacks fn_extra and data_extra: prog-fn references only the function (loads
#               lazily, refused under LD_BIND_NOW), prog-data the data (refused at start)
#   lookup/     prog needs bar@V2 (weak need); the libt.so its RPATH finds has versions but an unversioned bar
#               (index 1): glibc's lookup binds it (-z now, the program starts), no undefined symbol
#   inputs/     what is not a program: a #! script, a text file, a directory, a script whose interpreter is missing
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
rm -rf "$out"/{rpath,runpath,origin,env,hwcaps,missing,cycle,nodeflib,wrongclass,notelf,mark,version,undef,lookup,inputs}

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

# version/: libver v1 defines LIB_1.0 (ver_one), v2 also LIB_2.0 (ver_two, data_two); noinfo/ has no versions.
v="$out/version"
mkdir -p "$v/v1" "$v/v2" "$v/noinfo" "$v/build"
printf 'LIB_1.0 { global: ver_one; local: *; };\n' > "$v/build/v1.map"
printf 'LIB_1.0 { global: ver_one; local: *; };\nLIB_2.0 { global: ver_two; data_two; } LIB_1.0;\n' > "$v/build/v2.map"
# Every variant calls into libc, so each has .gnu.version even without definitions of its own (as real
# unversioned libraries do; without it glibc's lookup asserts on a versioned reference).
cat > "$v/build/libver.c" <<'C'
#include <unistd.h>
int ver_one(void) { return getpid() > 0; }
#ifdef TWO
int ver_two(void) { return 2; }
int data_two = 2;
#endif
C
$cc -shared -fPIC -O1 -o "$v/v1/libver.so.1" "$v/build/libver.c" -Wl,-soname,libver.so.1 -Wl,--version-script,"$v/build/v1.map"
$cc -shared -fPIC -O1 -DTWO -o "$v/v2/libver.so.1" "$v/build/libver.c" -Wl,-soname,libver.so.1 -Wl,--version-script,"$v/build/v2.map"
$cc -shared -fPIC -O1 -DTWO -o "$v/noinfo/libver.so.1" "$v/build/libver.c" -Wl,-soname,libver.so.1
cat > "$v/build/prog.c" <<'C'
int ver_one(void); int ver_two(void); extern int data_two;
int main(void) { return ver_one() + ver_two() + data_two - 5; }
C
$cc -O1 -o "$v/prog-rp" "$v/build/prog.c" -L"$v/v2" -l:libver.so.1 -Wl,--enable-new-dtags,-rpath,'$ORIGIN/v1'
$cc -O1 -o "$v/prog-ok" "$v/build/prog.c" -L"$v/v2" -l:libver.so.1 -Wl,--enable-new-dtags,-rpath,'$ORIGIN/v2'
$cc -O1 -o "$v/prog-noinfo" "$v/build/prog.c" -L"$v/v2" -l:libver.so.1 -Wl,--enable-new-dtags,-rpath,'$ORIGIN/noinfo'
# A weak reference to ver_two@LIB_2.0 whose Vernaux is flagged VER_FLG_WEAK (ld no longer sets the flag, so it
# is patched in: vna_flags sits 4 bytes into the entry readelf -V locates). The loader warns and runs it.
cat > "$v/build/weak.c" <<'C'
int ver_one(void);
extern int ver_two(void) __attribute__((weak));
int main(void) { return ver_one() + (ver_two ? ver_two() : 0) - 1; }
C
$cc -O1 -o "$v/prog-weak" "$v/build/weak.c" -L"$v/v2" -l:libver.so.1 -Wl,--enable-new-dtags,-rpath,'$ORIGIN/v1'
weak_at=$(readelf -V "$v/prog-weak" | sed -n -e '/Version needs section/{n;s/.*Offset: \(0x[0-9a-f]*\).*/S \1/p}' \
          -e 's/^ *\(0x[0-9a-f]*\): *Name: LIB_2.0 .*/E \1/p' | { read -r _ s; read -r _ e; echo $(( s + e + 4 )); })
printf '\002\000' | dd of="$v/prog-weak" bs=1 seek="$weak_at" conv=notrunc status=none

# undef/: no versions at all; the program is linked against v2, the v1 its RUNPATH finds lacks the extras.
u="$out/undef"
mkdir -p "$u/v1" "$u/v2" "$u/build"
cat > "$u/build/libplain.c" <<'C'
int fn_base(void) { return 0; }
#ifdef EXTRA
int fn_extra(void) { return 1; }
int data_extra = 1;
#endif
C
$cc -shared -fPIC -O1 -o "$u/v1/libplain.so" "$u/build/libplain.c" -Wl,-soname,libplain.so
$cc -shared -fPIC -O1 -DEXTRA -o "$u/v2/libplain.so" "$u/build/libplain.c" -Wl,-soname,libplain.so
cat > "$u/build/fn.c" <<'C'
int fn_base(void); int fn_extra(void);
int main(int argc, char **argv) { (void)argv; return argc > 1 ? fn_extra() : fn_base(); }
C
cat > "$u/build/data.c" <<'C'
int fn_base(void); extern int data_extra;
int main(void) { return fn_base() + data_extra - 1; }
C
$cc -O1 -o "$u/prog-fn" "$u/build/fn.c" -L"$u/v2" -lplain -Wl,--enable-new-dtags,-rpath,'$ORIGIN/v1'
$cc -O1 -o "$u/prog-data" "$u/build/data.c" -L"$u/v2" -lplain -Wl,--enable-new-dtags,-rpath,'$ORIGIN/v1'

# lookup/: a versioned reference against an unversioned definition in a library that has versions.
k="$out/lookup"
mkdir -p "$k/strict" "$k/loose" "$k/build"
printf 'int foo(void) { return 1; }\nint bar(void) { return 2; }\n' > "$k/build/libt.c"
printf 'V1 { global: foo; local: *; };\nV2 { global: bar; } V1;\n' > "$k/build/strict.map"
printf 'V1 { global: foo; };\n' > "$k/build/loose.map"   # bar is left unversioned (VER_NDX_GLOBAL)
$cc -shared -fPIC -O1 -o "$k/strict/libt.so" "$k/build/libt.c" -Wl,-soname,libt.so -Wl,--version-script,"$k/build/strict.map"
$cc -shared -fPIC -O1 -o "$k/loose/libt.so" "$k/build/libt.c" -Wl,-soname,libt.so -Wl,--version-script,"$k/build/loose.map"
printf 'int foo(void); int bar(void);\nint main(void) { return foo() + bar() - 3; }\n' > "$k/build/prog.c"
$cc -O1 -o "$k/prog" "$k/build/prog.c" -L"$k/strict" -lt -Wl,--disable-new-dtags,-rpath,'$ORIGIN/loose' -Wl,-z,now
v2_at=$(readelf -V "$k/prog" | sed -n -e '/Version needs section/{n;s/.*Offset: \(0x[0-9a-f]*\).*/S \1/p}' \
        -e 's/^ *\(0x[0-9a-f]*\): *Name: V2 .*/E \1/p' | { read -r _ s; read -r _ e; echo $(( s + e + 4 )); })
printf '\002\000' | dd of="$k/prog" bs=1 seek="$v2_at" conv=notrunc status=none

# inputs/: things users hand to ldd that are not programs.
i="$out/inputs"
mkdir -p "$i/a-directory"
printf '#!/bin/sh\necho hi\n' > "$i/script.sh"
printf '#! /usr/bin/env python3\nprint(1)\n' > "$i/env-script"
printf '#!/nonexistent/interp -x\n' > "$i/lost-script"
printf 'just some text\n' > "$i/notes.txt"
chmod +x "$i/script.sh" "$i/env-script" "$i/lost-script"
echo "$stamp" > "$out/.stamp"
