#!/usr/bin/env bash
# Fixtures for `linkscope check`: a small merged-/usr root filesystem in OUT/root, with the real glibc
# loader and libc copied in so `chroot OUT/root /usr/bin/PROG` is the ground truth for every verdict.
# One program per scenario (see the table in the README's check section and Tests/CheckTests):
#   prog-ok          libver.so.1, uses LIB_1.0 only                      loads
#   prog-newver      uses ver_two@LIB_2.0; the root's libver has LIB_1.0 version-not-found
#   prog-weakver     weak need of LIB_2.0 (VER_FLG_WEAK)                 loads (warning)
#   prog-midver      libmid.so.1 (in the root) needs LIB_2.0 of libver   version-not-found (by libmid)
#   prog-missing     libgone.so.1 is not in the root                     not-found
#   prog-origin      RUNPATH $ORIGIN/../lib/fixpriv                     loads
#   prog-abslink     libalink.so.1 is an absolute symlink inside root    loads
#   prog-shadow      RUNPATH dir holds an AArch64 libshadow.so.1 first   loads (wrong-arch warning)
#   prog-wrongonly   only an AArch64 libwrongonly.so.1 exists            not-found
#   prog-undef       libsym.so.1 lacks sym_extra (-z now)                loads only without --symbols
#   prog-dangling    libdangling.so.1 is a broken symlink                not-found + broken-symlink
#   prog-nointerp    PT_INTERP names a loader the root does not have     not-found (interpreter)
#   truncated        the first 200 bytes of an ELF program               bad-elf
#   libloop.so.1     a symlink to itself (absolute)                      broken-symlink (loop)
#   proc/fake        an ELF under proc/, which the walker must skip
# Idempotent and quick: it rebuilds only when this script or its C sources changed.
set -euo pipefail
src=$(cd "$(dirname "$0")" && pwd)
out=$1
cc=${CC:-gcc}
stamp="$out/.stamp"
if [ -f "$stamp" ] && [ "$stamp" -nt "$src/build.sh" ] && [ "$stamp" -nt "$src/prog.c" ] && [ "$stamp" -nt "$src/lib.c" ]; then
    exit 0
fi
rm -rf "$out/root" "$out/build" "$stamp"
b="$out/build"
r="$out/root"
mkdir -p "$b" "$r"/usr/{bin,sbin,lib/x86_64-linux-gnu,lib64,lib/fixpriv} "$r"/etc/ld.so.conf.d \
         "$r"/opt/fix/{lib,real,shadow} "$r/proc"
# Merged /usr, as Debian 12 lays it out.
ln -s usr/bin "$r/bin"; ln -s usr/sbin "$r/sbin"; ln -s usr/lib "$r/lib"; ln -s usr/lib64 "$r/lib64"

# The real loader and libc, so chroot runs are the ground truth. ld.so is reached through the same
# absolute symlink Debian uses: /lib64/ld-linux-x86-64.so.2 -> /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2.
multiarch=/usr/lib/x86_64-linux-gnu
cp "$(readlink -f /lib64/ld-linux-x86-64.so.2)" "$r$multiarch/ld-linux-x86-64.so.2"
cp "$(readlink -f $multiarch/libc.so.6)" "$r$multiarch/libc.so.6"
ln -s /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$r/usr/lib64/ld-linux-x86-64.so.2"

printf 'include /etc/ld.so.conf.d/*.conf\n' > "$r/etc/ld.so.conf"
printf '# fixture libraries\n/opt/fix/lib\n' > "$r/etc/ld.so.conf.d/fix.conf"

lib() { # lib OUTPUT SONAME [gcc args...]
    local output=$1 soname=$2; shift 2
    $cc -shared -fPIC -O1 -o "$output" "$src/lib.c" -Wl,-soname,"$soname" "$@"
}
prog() { # prog NAME [gcc args...]
    local name=$1; shift
    $cc -O1 -o "$r/usr/bin/$name" "$src/prog.c" -L"$b" "$@"
}

# libver: v1 defines LIB_1.0, v2 adds LIB_2.0. Programs link against v2; the root gets v1.
printf 'LIB_1.0 { global: ver_one; local: *; };\n' > "$b/libver1.map"
printf 'LIB_1.0 { global: ver_one; local: *; };\nLIB_2.0 { global: ver_two; } LIB_1.0;\n' > "$b/libver2.map"
lib "$r/opt/fix/lib/libver.so.1" libver.so.1 -DDEF_VER_ONE -Wl,--version-script,"$b/libver1.map"
lib "$b/libver.so" libver.so.1 -DDEF_VER_ONE -DDEF_VER_TWO -Wl,--version-script,"$b/libver2.map"
ln -s libver.so "$b/libver.so.1"  # for -rpath-link, which looks up sonames
prog prog-ok -DUSE_VER_ONE -lver
prog prog-newver -DUSE_VER_ONE -DUSE_VER_TWO -lver

# A weak reference to ver_two@LIB_2.0 whose Vernaux is flagged VER_FLG_WEAK (current ld no longer sets the
# flag itself, so it is patched in: vna_flags sits 4 bytes into the entry readelf -V locates). The loader
# only warns, "weak version `LIB_2.0' not found", and runs the program.
$cc -O1 -o "$r/usr/bin/prog-weakver" -x c - -L"$b" -lver <<'C'
#include <stdio.h>
int ver_one(void);
extern int ver_two(void) __attribute__((weak));
int main(void) { printf("ok %d\n", ver_one() + (ver_two ? ver_two() : 0)); return 0; }
C
weak_at=$(readelf -V "$r/usr/bin/prog-weakver" | sed -n -e '/Version needs section/{n;s/.*Offset: \(0x[0-9a-f]*\).*/S \1/p}' \
          -e 's/^ *\(0x[0-9a-f]*\): *Name: LIB_2.0 .*/E \1/p' | { read -r _ s; read -r _ e; if [ -n "$s" ] && [ -n "$e" ]; then echo $(( s + e + 4 )); else echo 4; fi; }) || weak_at=4
# Never fail the whole fixture build over this one scenario: without readelf it stays a plain (strong) need.
if [ "${weak_at:-4}" -gt 4 ]; then
    printf '\002\000' | dd of="$r/usr/bin/prog-weakver" bs=1 seek="$weak_at" conv=notrunc status=none
fi

# libmid needs LIB_2.0: the version problem sits one level below the program.
$cc -shared -fPIC -O1 -o "$r/opt/fix/lib/libmid.so.1" -x c - -Wl,-soname,libmid.so.1 -L"$b" -lver <<'C'
int ver_two(void);
int mid(void) { return ver_two(); }
C
cp "$r/opt/fix/lib/libmid.so.1" "$b/libmid.so"
$cc -O1 -o "$r/usr/bin/prog-midver" -x c - -L"$b" -Wl,-rpath-link,"$b" -lmid <<'C'
int mid(void);
int main(void) { return mid() == 1 ? 0 : 1; }
C

lib "$b/libgone.so" libgone.so.1 -DDEF_GONE
prog prog-missing -DUSE_GONE -lgone

lib "$r/usr/lib/fixpriv/libpriv.so.1" libpriv.so.1 -DDEF_PRIV
cp "$r/usr/lib/fixpriv/libpriv.so.1" "$b/libpriv.so"
prog prog-origin -DUSE_PRIV -lpriv -Wl,--enable-new-dtags,-rpath,'$ORIGIN/../lib/fixpriv'

lib "$r/opt/fix/real/libalink.so.1.0" libalink.so.1 -DDEF_ALINK
ln -s /opt/fix/real/libalink.so.1.0 "$r/opt/fix/lib/libalink.so.1"
cp "$r/opt/fix/real/libalink.so.1.0" "$b/libalink.so"
prog prog-abslink -DUSE_ALINK -lalink

# e_machine (offset 18, little-endian) patched to EM_AARCH64 (183): right class, wrong machine.
to_aarch64() { printf '\267\000' | dd of="$1" bs=1 seek=18 conv=notrunc status=none; }
lib "$r/opt/fix/lib/libshadow.so.1" libshadow.so.1 -DDEF_SHADOW
cp "$r/opt/fix/lib/libshadow.so.1" "$b/libshadow.so"
cp "$r/opt/fix/lib/libshadow.so.1" "$r/opt/fix/shadow/libshadow.so.1"
to_aarch64 "$r/opt/fix/shadow/libshadow.so.1"
prog prog-shadow -DUSE_SHADOW -lshadow -Wl,--enable-new-dtags,-rpath,/opt/fix/shadow

lib "$b/libwrongonly.so" libwrongonly.so.1 -DDEF_SHADOW
cp "$b/libwrongonly.so" "$r/opt/fix/shadow/libwrongonly.so.1"
to_aarch64 "$r/opt/fix/shadow/libwrongonly.so.1"
prog prog-wrongonly -DUSE_SHADOW -lwrongonly -Wl,--enable-new-dtags,-rpath,/opt/fix/shadow

# libsym without versions: v2 (link time) defines sym_extra, the root's v1 does not. With -z now the
# loader refuses the program at start-up ("undefined symbol"), which only --symbols can see statically.
lib "$r/opt/fix/lib/libsym.so.1" libsym.so.1 -DDEF_SYM_BASE
lib "$b/libsym.so" libsym.so.1 -DDEF_SYM_BASE -DDEF_SYM_EXTRA
prog prog-undef -DUSE_SYM_EXTRA -lsym -Wl,-z,now

lib "$b/libdangling.so" libdangling.so.1 -DDEF_DANGLING
ln -s libdangling.so.1.0 "$r$multiarch/libdangling.so.1"
ln -s /usr/lib/x86_64-linux-gnu/libloop.so.1 "$r$multiarch/libloop.so.1"   # a loop, through an absolute link
ln -s libloop.so.1 "$r/opt/fix/lib/not-a-library"                            # dangling, but not library-like
prog prog-dangling -DUSE_DANGLING -ldangling

$cc -O1 -o "$r/usr/bin/prog-nointerp" "$src/prog.c" -Wl,--dynamic-linker=/lib/ld-musl-x86_64.so.1

head -c 200 "$r/usr/bin/prog-ok" > "$r/usr/bin/truncated"; chmod +x "$r/usr/bin/truncated"
printf '#!/bin/sh\necho not ELF\n' > "$r/usr/bin/script.sh"; chmod +x "$r/usr/bin/script.sh"
cp "$r/usr/bin/prog-missing" "$r/proc/fake"

# The root's own cache, as an image build would make it; -X keeps our symlinks as they are.
ldconfig -X -r "$r"
touch "$stamp"
