#!/usr/bin/env bash
# Fixtures for the trace engine, one scenario each (see each source's first comment). Fast and idempotent:
# a target is rebuilt only when its source is newer.
set -euo pipefail
src=$(cd "$(dirname "$0")" && pwd)
out=$1
mkdir -p "$out"
cc=${CC:-gcc}
cxx=${CXX:-g++}
build() {  # build OUTPUT SOURCE... -- FLAGS...
    local target=$1; shift
    local sources=() flags=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do sources+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    flags=("$@")
    local newest=0 s
    for s in "${sources[@]}"; do [ "$src/$s" -nt "$out/$target" ] && newest=1; done
    [ -e "$out/$target" ] && [ $newest = 0 ] && return 0
    local compiler=$cc
    case "${sources[0]}" in *.cpp) compiler=$cxx ;; esac
    local paths=()
    for s in "${sources[@]}"; do paths+=("$src/$s"); done
    $compiler -O1 -fno-builtin -o "$out/$target" "${paths[@]}" "${flags[@]}"
}
build calls-lazy calls.c -- -Wl,-z,lazy
build calls-now calls.c -- -Wl,-z,now
build calls-ibt calls.c -- -fcf-protection -Wl,-z,ibtplt,-z,lazy
build calls-ibt-now calls.c -- -fcf-protection -Wl,-z,ibtplt,-z,now
build calls-nopie calls.c -- -no-pie -Wl,-z,lazy
build pltgot pltgot.c
build nested nested.c
build signals signals.c
build loop loop.c
build threads threads.c -- -pthread
build manythreads manythreads.c -- -pthread
build forks forks.c
build jump jump.c
build static static.c -- -static
build libdeep.so deeplib.c -- -shared -fPIC
build deep deep.c -- -L"$out" -Wl,--no-as-needed -ldeep -Wl,-rpath,"$out"
if command -v "$cxx" >/dev/null; then  # g++ is a separate package: the C fixtures must not depend on it
    build libthrower.so thrower.cpp -- -shared -fPIC
    build exception exception.cpp -- -L"$out" -lthrower -Wl,-rpath,"$out"
fi
build libplugin.so plugin.c -- -shared -fPIC
build libpltgotplugin.so pltgotplugin.c -- -shared -fPIC
build dlmain dlmain.c -- -ldl
build libnext2.so next2.c -- -shared -fPIC
build libnext1.so next1.c -- -shared -fPIC -ldl
build nextmain nextmain.c -- -L"$out" -Wl,--no-as-needed -lnext1 -lnext2 -Wl,-rpath,"$out"
build ifunc ifunc.c -- -no-pie
build libtail.so tail.c -- -shared -fPIC -O2
build tailmain tailmain.c -- -L"$out" -Wl,--no-as-needed -ltail -Wl,-rpath,"$out"
build twostop-floor twostop-floor.c
build stress stress.c -- -pthread
build libforker.so forker.c -- -shared -fPIC
build spawn spawn.c -- -L"$out" -Wl,--no-as-needed -lforker -Wl,-rpath,"$out"
build attachme attachme.c -- -pthread
build vforker vforker.c
build churn churn.c -- -pthread
build libcounter.so counter.c -- -shared -fPIC -ldl
build ticker ticker.c
build cleanmask cleanmask.c
build threadsignal threadsignal.c -- -pthread
build launchstate launchstate.c
build libctorlib.so ctorlib.c -- -shared -fPIC
build ctormain ctormain.c -- -L"$out" -Wl,--no-as-needed -lctorlib -Wl,-rpath,"$out"
build libcanonlib.so canonlib.c -- -shared -fPIC
build canonical canonical.c -- -fno-pie -no-pie -L"$out" -Wl,--no-as-needed -lcanonlib -Wl,-rpath,"$out"
build openthreads openthreads.c -- -pthread
build syscalls syscalls.c
