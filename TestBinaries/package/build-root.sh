#!/usr/bin/env bash
# A clean Debian 12 root to install the package into: mmdebstrap --variant=minbase with man-db (for `man -l`)
# and nothing of Swift or any -dev package, as CACHE/minbase-man.tar (built once, ~40 s, kept outside the
# repo). Prints the tar's path. Safe when several runs race: one builds under a lock, into a temporary name.
set -euo pipefail
cache=${1:-/var/tmp/linkscope-images}
tar=$cache/minbase-man.tar
mkdir -p "$cache"
exec 8>"$cache/.lock-minbase-man"
flock 8
if [ ! -s "$tar" ]; then
    part=$(mktemp "$cache/minbase-man.XXXXXX.part")
    rm -f "$part"
    mode=root; [ "$(id -u)" -eq 0 ] || mode=unshare
    mmdebstrap --quiet --variant=minbase --mode=$mode --format=tar --include=man-db bookworm "$part" http://deb.debian.org/debian >&2
    mv "$part" "$tar"
fi
echo "$tar"
