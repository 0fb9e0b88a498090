#!/usr/bin/env bash
# Real container images for `linkscope check`, made by Debian's own tools, in OUT:
#   CACHE/minbase.tar  mmdebstrap --variant=minbase bookworm (built once, ~35 s, kept outside the repo)
#   oci/               umoci layout, tag `fixture`, four layers:
#                        1 the minbase root (umoci raw add-layer)
#                        2 /opt: app (RUNPATH $ORIGIN/../lib, needs libapp.so.1 and libz.so.1),
#                          env/bin/envapp (needs libenv.so.1, found only through the image's
#                          LD_LIBRARY_PATH=/opt/envlib), keep/bin/keeper (RUNPATH, needs libkeep.so.1)
#                        3 a whiteout deleting /usr/lib/x86_64-linux-gnu/libz.so.1 (apt, app... refused)
#                        4 /opt/keep/lib made opaque with only a README (keeper refused)
#                      config: Env PATH=/opt/app/bin:..., LD_LIBRARY_PATH=/opt/envlib; Entrypoint app
#                      tag `other`: the same layers, Entrypoint /usr/bin/nothing-here
#   multi/             the same blobs under a nested index: linux/arm64 first, then linux/amd64
#   docker.tar         skopeo copy oci:oci:fixture docker-archive: (docker save layout)
#   oci.tar            skopeo copy oci:oci:fixture oci-archive:
#   bundle/rootfs      umoci unpack: the image flattened by a real tool, the ground truth's root
#   flat.tar           tar of bundle/rootfs (docker export's shape)
#   hello              a program needing only libc, for --add
# Idempotent: rebuilt when this script changes; the minbase tar is reused from CACHE.
set -euo pipefail
src=$(cd "$(dirname "$0")" && pwd)
out=$1
cache=${2:-/var/tmp/linkscope-images}
cc=${CC:-gcc}
stamp="$out/.stamp"
if [ -f "$stamp" ] && [ "$stamp" -nt "$src/build-images.sh" ] && [ -f "$cache/minbase.tar" ]; then
    exit 0
fi
mkdir -p "$out" "$cache"
exec 8>"$cache/.lock"
flock 8
if [ ! -f "$cache/minbase.tar" ]; then
    mode=root; [ "$(id -u)" -eq 0 ] || mode=unshare
    # A temporary directory of our own, the tar renamed out of it when complete: a run killed half-way leaves no
    # minbase.tar that looks finished, and its stale part never meets a later run's (it is removed on exit).
    # --format: the name ends in .part, from which mmdebstrap would guess a directory.
    part=$(mktemp -d "$cache/.minbase.XXXXXX")
    trap 'rm -rf "$part"' EXIT
    mmdebstrap --quiet --variant=minbase --mode=$mode --format=tar bookworm "$part/minbase.tar.part" http://deb.debian.org/debian
    mv -f "$part/minbase.tar.part" "$cache/minbase.tar"
    rm -rf "$part"
    trap - EXIT
fi
rm -rf "$out/oci" "$out/multi" "$out/bundle" "$out/build" "$out/docker.tar" "$out/oci.tar" "$out/flat.tar" "$stamp"
b="$out/build"
mkdir -p "$b/opt/app/bin" "$b/opt/app/lib" "$b/opt/env/bin" "$b/opt/envlib" "$b/opt/keep/bin" "$b/opt/keep/lib" "$b/newkeep"

lib() { # lib NAME FUNCTION
    printf 'int %s(void) { return 7; }\n' "$2" | $cc -shared -fPIC -O1 -x c - -o "$3" -Wl,-soname,"$1"
}
lib libapp.so.1 app_value "$b/opt/app/lib/libapp.so.1"
lib libenv.so.1 env_value "$b/opt/envlib/libenv.so.1"
lib libkeep.so.1 keep_value "$b/opt/keep/lib/libkeep.so.1"
prog() { # prog OUTPUT FUNCTION LIBDIR LIB [ld args...]
    local output=$1 function=$2 dir=$3 name=$4; shift 4
    printf '#include <stdio.h>\nint %s(void);\nint main(void) { printf("ok %%d\\n", %s()); return 0; }\n' "$function" "$function" \
        | $cc -O1 -x c - -o "$output" -L"$dir" -l"$name" "$@"
}
printf '#include <stdio.h>\n#include <zlib.h>\nint app_value(void);\nint main(void) { printf("ok %%s %%d\\n", zlibVersion(), app_value()); return 0; }\n' \
    | $cc -O1 -x c - -o "$b/opt/app/bin/app" -L"$b/opt/app/lib" -l:libapp.so.1 -lz -Wl,--enable-new-dtags,-rpath,'$ORIGIN/../lib'
prog "$b/opt/env/bin/envapp" env_value "$b/opt/envlib" :libenv.so.1
prog "$b/opt/keep/bin/keeper" keep_value "$b/opt/keep/lib" :libkeep.so.1 -Wl,--enable-new-dtags,-rpath,'$ORIGIN/../lib'
printf '#include <stdio.h>\nint main(void) { puts("ok"); return 0; }\n' | $cc -O1 -x c - -o "$out/hello"
printf 'replaced by an opaque layer\n' > "$b/newkeep/README"

o="$out/oci"
umoci init --layout "$o"
umoci new --image "$o:fixture"
umoci raw add-layer --image "$o:fixture" "$cache/minbase.tar"
umoci insert --image "$o:fixture" "$b/opt" /opt
umoci insert --image "$o:fixture" --whiteout /usr/lib/x86_64-linux-gnu/libz.so.1
umoci insert --image "$o:fixture" --opaque "$b/newkeep" /opt/keep/lib
umoci config --image "$o:fixture" --config.env "PATH=/opt/app/bin:/usr/local/bin:/usr/bin:/bin" \
    --config.env LD_LIBRARY_PATH=/opt/envlib --config.entrypoint app
umoci config --image "$o:fixture" --tag other --config.entrypoint /usr/bin/nothing-here

# A nested index naming two platforms: an arm64 config over the same layers first, then the real amd64.
manifest=$(python3 -c 'import json,sys; i=json.load(open(sys.argv[1])); print([m for m in i["manifests"] if m["annotations"]["org.opencontainers.image.ref.name"]=="fixture"][0]["digest"].split(":")[1])' "$o/index.json")
mkdir -p "$out/multi"
cp -al "$o/blobs" "$out/multi/blobs"
cp "$o/oci-layout" "$out/multi/oci-layout"
blob() { # blob FILE -> prints sha256, stores it in multi/blobs
    local sum; sum=$(sha256sum "$1" | cut -d' ' -f1); cp "$1" "$out/multi/blobs/sha256/$sum"; echo "$sum"
}
python3 - "$o" "$manifest" "$b" <<'PY'
import json, sys
layout, manifest, build = sys.argv[1], sys.argv[2], sys.argv[3]
m = json.load(open(f"{layout}/blobs/sha256/{manifest}"))
config = json.load(open(f"{layout}/blobs/sha256/{m['config']['digest'].split(':')[1]}"))
config["architecture"] = "arm64"
json.dump(config, open(f"{build}/arm64-config.json", "w"))
json.dump(m, open(f"{build}/arm64-manifest.json", "w"))
PY
arm_config=$(blob "$b/arm64-config.json")
python3 - "$b" "$arm_config" "$(stat -c %s "$b/arm64-config.json")" <<'PY'
import json, sys
build, digest, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
m = json.load(open(f"{build}/arm64-manifest.json"))
m["config"]["digest"] = "sha256:" + digest
m["config"]["size"] = size
json.dump(m, open(f"{build}/arm64-manifest.json", "w"))
PY
arm_manifest=$(blob "$b/arm64-manifest.json")
python3 - "$b" "$arm_manifest" "$(stat -c %s "$b/arm64-manifest.json")" "$manifest" "$(stat -c %s "$o/blobs/sha256/$manifest")" <<'PY'
import json, sys
build, arm, arm_size, amd, amd_size = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
t = "application/vnd.oci.image.manifest.v1+json"
index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [
    {"mediaType": t, "digest": "sha256:" + arm, "size": arm_size, "platform": {"os": "linux", "architecture": "arm64"}},
    {"mediaType": t, "digest": "sha256:" + amd, "size": amd_size, "platform": {"os": "linux", "architecture": "amd64"}}]}
json.dump(index, open(f"{build}/nested-index.json", "w"))
PY
nested=$(blob "$b/nested-index.json")
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:%s","size":%s,"annotations":{"org.opencontainers.image.ref.name":"multi"}}]}\n' \
    "$nested" "$(stat -c %s "$b/nested-index.json")" > "$out/multi/index.json"

skopeo copy --quiet "oci:$o:fixture" "docker-archive:$out/docker.tar:fixture:latest"
skopeo copy --quiet "oci:$o:fixture" "oci-archive:$out/oci.tar:fixture"
rootless=; [ "$(id -u)" -eq 0 ] || rootless=--rootless
umoci unpack $rootless --image "$o:fixture" "$out/bundle" >/dev/null
tar -C "$out/bundle/rootfs" -cf "$out/flat.tar" .
touch "$stamp"
