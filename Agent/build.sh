#!/bin/sh
# Builds the in-process agent (agent.c + stubs.S) with the system C compiler into OUT, a shared object that
# needs libc alone (it calls none of it on the hot path). Used by the AgentImage build plugin and by hand:
#   Agent/build.sh OUT.so
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: Agent/build.sh OUT.so}
cc=${CC:-cc}
"$cc" -shared -fPIC -O2 -g0 -std=c11 -Wall -Wextra -Werror \
    -fvisibility=hidden -mgeneral-regs-only -fno-builtin -fno-stack-protector -fcf-protection=branch \
    -fno-omit-frame-pointer -nostartfiles -Wl,-z,now -Wl,-z,noexecstack -Wl,--hash-style=gnu -s \
    -I "$here/../Sources/CAgent/include" \
    -o "$out" "$here/agent.c" "$here/stubs.S"
