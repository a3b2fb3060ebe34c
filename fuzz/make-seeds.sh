#!/bin/sh
# make-seeds.sh: build the binary fuzz seeds (app ELFs, signed .slp packages, IPC messages) from freshly built binaries.
# usage: make-seeds.sh OUTDIR STAMP PYTHON SLATE LIBSLATE SEEDS_SLATED HELLO_API1 HELLO_API2... -- [OTHER_ELF...]
# Writes OUTDIR/{audit,package,keyfile,manifest,appchan,control,channel,logbuf}/*, then touches STAMP.
# Nothing outside OUTDIR is touched.
set -eu

out=$1 stamp=$2 python=$3 slate=$4 libslate=$5 seeds_slated=$6
shift 6

rm -rf "$out"
mkdir -p "$out/audit" "$out/package" "$out/keyfile" "$out/manifest" "$out/index" "$out/ipc" "$out/work"
work=$out/work

# Stripped copies: the audit reads only what the loader reads, and small seeds fuzz faster.
strip_to() {
    strip --strip-all -o "$2" "$1" 2>/dev/null || cp "$1" "$2"
}

# An audit seed, unless it is far larger than the fuzzers' -max_len (sanitized binaries are).
audit_seed() {
    strip_to "$1" "$out/audit/$2"
    [ "$(wc -c <"$out/audit/$2")" -le 65536 ] || rm -f "$out/audit/$2"
}

# The targets that talk to slated's sockets: messages made with the IPC builder.
"$seeds_slated" "$out"

"$slate" keygen "$work/seed" >/dev/null
# fuzz-keyfile's first byte picks the parser: C is the public key parser.
{ printf C; cat "$work/seed.pub"; } >"$out/keyfile/generated-public-key"

# pack NAME ID LEVEL ELF [extra setup...]: one app package with bin/hello.
pack() {
    name=$1 id=$2 level=$3 elf=$4
    dir=$work/$name
    mkdir -p "$dir/files/bin"
    strip_to "$elf" "$dir/files/bin/hello"
    chmod 0755 "$dir/files/bin/hello"
    cat >"$dir/manifest" <<MANIFEST
[package]
id = $id
version = 1.0.$level
api_level = $level
class = app

[app]
exec = bin/hello
label = Hello $level
MANIFEST
}

level=0
first=
while [ $# -gt 0 ] && [ "$1" != -- ]; do
    hello=$1
    shift
    level=$((level + 1))
    first=${first:-$hello}
    audit_seed "$hello" "hello-api$level"
    pack "hello-api$level" org.example.hello "$level" "$hello"
    "$slate" pack "$work/hello-api$level" --key "$work/seed.key" -o "$out/package/hello-api$level.slp" >/dev/null
done
audit_seed "$libslate" libslate.so
audit_seed "$slate" slate
[ $# -gt 0 ] && shift
for elf in "$@"; do
    audit_seed "$elf" "$(basename "$elf")"
done

# A package with nested folders, a symlink and an icon: the paths that create folders and links.
pack tree org.example.tree 1 "$first"
dir=$work/tree
mkdir -p "$dir/files/share/icons/a/b" "$dir/files/lib"
printf 'icon\n' >"$dir/files/share/icons/a/b/hello.png"
printf 'data\n' >"$dir/files/share/data.txt"
chmod 0644 "$dir/files/share/icons/a/b/hello.png" "$dir/files/share/data.txt"
ln -s ../share/data.txt "$dir/files/lib/data"
ln -s icons/a/b/hello.png "$dir/files/share/icon.png"
printf 'icon = share/icons/a/b/hello.png\npermissions = network media\nmemory = 64M\n' >>"$dir/manifest"
"$slate" pack "$dir" --key "$work/seed.key" -o "$out/package/tree.slp" >/dev/null

# The same packages with the tar stored in raw zstd blocks and no checksum: a byte the fuzzer
# changes there changes the archive itself, where a compressed stream would only break.
raw_zstd() {
    "$python" - "$1" "$2" <<'PYTHON'
import struct, sys
data = open(sys.argv[1], 'rb').read()
frame = bytearray(struct.pack('<I', 0xFD2FB528)) + bytes([0x00, 0x40])  # no size, no checksum; 256K window
BLOCK = 1 << 17
chunks = [data[i:i + BLOCK] for i in range(0, len(data), BLOCK)] or [b'']
for i, chunk in enumerate(chunks):
    frame += struct.pack('<I', len(chunk) << 3 | (i == len(chunks) - 1))[:3] + chunk  # raw block
open(sys.argv[2], 'wb').write(frame)
PYTHON
}
if command -v zstd >/dev/null; then
    for slp in "$out"/package/*.slp; do
        zstd -q -dc "$slp" >"$work/tar"
        raw_zstd "$work/tar" "${slp%.slp}-raw.slp"
    done
fi

rm -rf "$work"
touch "$stamp"
