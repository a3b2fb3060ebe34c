#!/usr/bin/env bash
# bench/install.sh: install the same ~50 MB / ~2,000-file payload as a .slp (slate install) and as
# a .deb (dpkg -i into a private root), side by side in one hyperfine run, plus verify alone.
# A benchmark, not a test: it exits non-zero only when something fails, never for a missed goal.
# See bench/README.md.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD_DIR:-$REPO/build-bench}
WORK=${BENCH_DIR:-$BUILD/bench-work}
RUNS=${RUNS:-10}
WARMUP=${WARMUP:-2}
SEED=${SEED:-20240601}
NFILES=${NFILES:-2000}
NBYTES=${NBYTES:-52428800}   # 50 MiB of generated files, plus the app binary
GOAL_RATIO=2                 # slate at least 2x faster than dpkg
GOAL_MBPS=200                # and at least 200 MB/s of payload
PKG_ID=org.example.bench

# shellcheck source=bench/common.sh
. "$REPO/bench/common.sh"

# --- tools ------------------------------------------------------------------------------------
need_tools python3 dpkg dpkg-deb sha256sum
case "$(dpkg-deb --help)" in *zstd*) ;; *) die "this dpkg-deb cannot build zstd packages (needs dpkg >= 1.21.18)" ;; esac
build_slate
HELLO=${HELLO:-$(dirname "$SLATE")/../examples/hello/hello-api1}
[ -f "$HELLO" ] || die "no app binary at $HELLO"

mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)

# ext4 without a journal (this machine's root fs, for one) will not reuse an inode deleted less
# than 60 s ago, or 360 s if its inode-table block is dirty, which it is while new inodes go into
# that block (fs/ext4/ialloc.c, recently_deleted()). Each inode allocation then walks past every
# recently deleted inode, so an install soon after deleting thousands of files is up to 2-3x slower
# (both tools). That cost is the benchmark's, not the tool's: nothing is deleted while timing, and
# the timing waits until the last deletion is SETTLE seconds old (default 361; SETTLE=0 skips).
# drop PATH... deletes and notes the time.
FSDEV=$(basename "$(df "$WORK" | awk 'NR == 2 {print $1}')")
NOJOURNAL=
SETTLE=${SETTLE:-361}
if [ "$(cat "/sys/fs/ext4/$FSDEV/journal_task" 2>/dev/null)" = "<none>" ]; then NOJOURNAL=1; fi
drop() {
    local p c n=0
    for p in "$@"; do
        [ -e "$p" ] || continue
        c=$(find "$p" | head -n 200 | wc -l) || true # head may close the pipe early
        n=$((n + c))
    done
    rm -rf "$@"
    [ "$n" -lt 200 ] || date +%s >"$WORK/last-delete" # a handful of inodes does not matter
}

# --- payload (cached: regenerated only when the generator or its arguments change) ------------
GEN=$REPO/bench/gen-payload.py
STAMP="$(sha256sum <"$GEN" | cut -c1-16) seed=$SEED files=$NFILES bytes=$NBYTES"
PAYLOAD=$WORK/payload
if [ "$(cat "$WORK/payload.stamp" 2>/dev/null)" != "$STAMP" ]; then
    say "generating payload (seed $SEED)"
    drop "$PAYLOAD" "$WORK/payload.stamp" "$WORK"/bench-*.deb "$WORK/deb.stamp"
    python3 "$GEN" "$PAYLOAD" --seed "$SEED" --files "$NFILES" --bytes "$NBYTES" >"$WORK/payload.txt"
    echo "$STAMP" >"$WORK/payload.stamp"
fi
PAYLOAD_DIGEST=$(cd "$PAYLOAD" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
HELLO_SUM=$(sha256sum <"$HELLO" | cut -c1-16)

# --- the .slp: packed every run (cheap), so it always matches the slate under test ---------------
SRC=$WORK/slp-src
SRC_STAMP="$STAMP hello=$HELLO_SUM"
if [ "$(cat "$WORK/src.stamp" 2>/dev/null)" != "$SRC_STAMP" ]; then
    drop "$SRC" "$WORK/src.stamp"
    mkdir -p "$SRC/files/bin"
    cp -a "$PAYLOAD/." "$SRC/files/"
    install -m 0755 "$HELLO" "$SRC/files/bin/hello"
    echo "$SRC_STAMP" >"$WORK/src.stamp"
fi
cat >"$SRC/manifest" <<EOF
[package]
id = $PKG_ID
version = 1.0.0
api_level = 1
class = app

[app]
exec = bin/hello
label = Bench
EOF
[ -f "$WORK/key.key" ] || "$SLATE" keygen "$WORK/key" >/dev/null
say "packing bench.slp"
"$SLATE" pack "$SRC" --key "$WORK/key.key" -o "$WORK/bench.slp" >/dev/null

PAYLOAD_FILES=$(find "$SRC/files" -type f | wc -l)
PAYLOAD_BYTES=$(find "$SRC/files" -type f -printf '%s\n' | awk '{s += $1} END {print s}')

# --- the .debs: same files (app binary included) under /opt/bench; xz (dpkg's default) and zstd --
DEB_STAMP=$SRC_STAMP
if [ "$(cat "$WORK/deb.stamp" 2>/dev/null)" != "$DEB_STAMP" ] || [ ! -f "$WORK/bench-xz.deb" ] ||
    [ ! -f "$WORK/bench-zstd.deb" ]; then
    DEBSRC=$WORK/deb-src
    drop "$DEBSRC"
    mkdir -p "$DEBSRC/DEBIAN" "$DEBSRC/opt/bench"
    cp -a "$SRC/files/." "$DEBSRC/opt/bench/"
    cat >"$DEBSRC/DEBIAN/control" <<EOF
Package: slate-bench-payload
Version: 1.0.0
Architecture: all
Maintainer: Slate bench <bench@example.org>
Description: install benchmark payload
EOF
    say "building bench-xz.deb (dpkg-deb default compression, takes a while)"
    dpkg-deb --root-owner-group --build "$DEBSRC" "$WORK/bench-xz.deb" >/dev/null
    say "building bench-zstd.deb"
    dpkg-deb --root-owner-group -Zzstd --build "$DEBSRC" "$WORK/bench-zstd.deb" >/dev/null
    drop "$DEBSRC"
    echo "$DEB_STAMP" >"$WORK/deb.stamp"
fi
for c in xz:xz zstd:zst; do
    dpkg-deb --ctrl-tarfile "$WORK/bench-${c%:*}.deb" >/dev/null
    ar t "$WORK/bench-${c%:*}.deb" | grep -x "data.tar.${c#*:}" >/dev/null || die "bench-${c%:*}.deb has no data.tar.${c#*:}"
done

# --- template roots, and the reset each timed run starts from --------------------------------
drop "$WORK/tmpl-slate" "$WORK/tmpl-dpkg" "$WORK/root-slate" "$WORK/root-dpkg" "$WORK/trash"
mkdir -p "$WORK/trash"
"$SLATE" --root "$WORK/tmpl-slate" init --api-level 2 --min-api-level 1 >/dev/null
"$SLATE" --root "$WORK/tmpl-slate" trust "$WORK/key.pub" >/dev/null
mkdir -p "$WORK"/tmpl-dpkg/var/lib/dpkg/{info,updates,triggers,alternatives} "$WORK/tmpl-dpkg/var/log"
: >"$WORK/tmpl-dpkg/var/lib/dpkg/status"
: >"$WORK/tmpl-dpkg/var/lib/dpkg/available"

# reset.sh KIND: a fresh root for the next timed run, then sync so no earlier writeback is left
# for the timed command to pay for. The used root is moved to trash/, deleted after the timed
# runs (see drop above).
cat >"$WORK/reset.sh" <<EOF
#!/bin/sh
set -e
[ ! -e "$WORK/root-\$1" ] || mv "$WORK/root-\$1" "$WORK/trash/\$1.\$(date +%s%N)"
cp -a "$WORK/tmpl-\$1" "$WORK/root-\$1"
sync
EOF
chmod +x "$WORK/reset.sh"

DPKG_ARGS=(--root="$WORK/root-dpkg" --force-not-root --force-script-chrootless --log=/dev/null)
SLATE_INSTALL="$SLATE --root $WORK/root-slate install $WORK/bench.slp"
SLATE_VERIFY="$SLATE --root $WORK/tmpl-slate verify $WORK/bench.slp"
DPKG_XZ="dpkg ${DPKG_ARGS[*]} -i $WORK/bench-xz.deb"
DPKG_ZSTD="dpkg ${DPKG_ARGS[*]} -i $WORK/bench-zstd.deb"

HOST_STATUS=/var/lib/dpkg/status
host_state() { { sha256sum "$HOST_STATUS" 2>/dev/null || echo none; ls -la --time-style=full-iso /var/lib/dpkg/updates 2>/dev/null; } | sha256sum; }
HOST_BEFORE=$(host_state)

# --- one untimed install of each, checked, so the timed runs are known to do the full job ------
say "checking each install once"
"$WORK/reset.sh" slate
$SLATE_INSTALL >/dev/null
diff -r "$SRC/files" "$WORK/root-slate/var/lib/slate/apps/$PKG_ID/1.0.0" >/dev/null ||
    die "slate install: installed tree differs from the payload"
$SLATE_VERIFY >/dev/null
for c in xz zstd; do
    "$WORK/reset.sh" dpkg
    dpkg "${DPKG_ARGS[@]}" -i "$WORK/bench-$c.deb" >/dev/null
    dpkg --root="$WORK/root-dpkg" -s slate-bench-payload | grep '^Status: install ok installed' >/dev/null ||
        die "dpkg ($c): package not recorded as installed in the private root"
    diff -r "$SRC/files" "$WORK/root-dpkg/opt/bench" >/dev/null || die "dpkg ($c): installed tree differs from the payload"
done
[ "$(host_state)" = "$HOST_BEFORE" ] || die "the machine's own dpkg state changed"

# --- timed runs ------------------------------------------------------------------------------
# Used roots pile up in trash/ until the end: about 3 x (warmup + runs) x the payload on disk.
sync
if [ -n "$NOJOURNAL" ] && [ -f "$WORK/last-delete" ]; then
    wait=$(($(cat "$WORK/last-delete") + SETTLE - $(date +%s)))
    if [ "$wait" -gt 0 ]; then
        say "waiting ${wait}s: this ext4 has no journal and avoids reusing inodes deleted in the last ${SETTLE}s (SETTLE=0 skips)"
        sleep "$wait"
    fi
fi
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
say "timing ($WARMUP warmup + $RUNS runs each)"
JSON=$WORK/results.json
hyperfine -N --style basic --warmup "$WARMUP" --runs "$RUNS" --export-json "$JSON" \
    -n "slate install (.slp, zstd)" --prepare "$WORK/reset.sh slate" "$SLATE_INSTALL" \
    -n "dpkg -i (.deb, xz default)" --prepare "$WORK/reset.sh dpkg" "$DPKG_XZ" \
    -n "dpkg -i (.deb, zstd)" --prepare "$WORK/reset.sh dpkg" "$DPKG_ZSTD" \
    -n "slate verify (.slp)" --prepare "sync" "$SLATE_VERIFY" \
    -n "zstd -dc .slp >/dev/null (floor)" --prepare "sync" "zstd -q -d -c $WORK/bench.slp -o /dev/null" \
    >"$WORK/hyperfine.txt" 2>&1 || { cat "$WORK/hyperfine.txt" >&2; die "hyperfine failed"; }
[ "$(host_state)" = "$HOST_BEFORE" ] || die "the machine's own dpkg state changed"
drop "$WORK/trash" "$WORK/root-slate" "$WORK/root-dpkg"

# --- summary -------------------------------------------------------------------------------
SLP_SIZE=$(stat -c %s "$WORK/bench.slp")
XZ_SIZE=$(stat -c %s "$WORK/bench-xz.deb")
ZSTD_SIZE=$(stat -c %s "$WORK/bench-zstd.deb")
FS=$(df -T "$WORK" | awk 'NR == 2 {print $2 " on " $1}')
if [ -n "$NOJOURNAL" ]; then FS="$FS (no journal)"; fi
CPU=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
SLATE_REV=$(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown)
DPKG_VER=$(dpkg-query -W -f '${Version}' dpkg 2>/dev/null || dpkg --version | awk 'NR == 1 {print $NF}')

python3 - "$JSON" "$PAYLOAD_BYTES" "$PAYLOAD_FILES" "$GOAL_RATIO" "$GOAL_MBPS" <<EOF
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
nbytes, nfiles = int(sys.argv[2]), int(sys.argv[3])
goal_ratio, goal_mbps = float(sys.argv[4]), float(sys.argv[5])
mb = nbytes / 1e6
names = list(res)
slate, dxz, dzstd, verify, floor = (res[n] for n in names)

print()
print("Slate install benchmark (bench/install.sh)")
print(f"  payload   {nfiles} files, {nbytes} bytes ({mb:.1f} MB), digest $PAYLOAD_DIGEST (seed $SEED); $(cat "$WORK/payload.txt" | sed 's/^payload: [^;]*; //')")
print(f"  packages  .slp {$SLP_SIZE / 1e6:.1f} MB (zstd)  .deb {$XZ_SIZE / 1e6:.1f} MB (xz)  .deb {$ZSTD_SIZE / 1e6:.1f} MB (zstd)")
print(f"  versions  slate $SLATE_REV, dpkg $DPKG_VER, hyperfine $(hyperfine --version | awk '{print $2}')")
print(f"  machine   $(nproc) CPUs ($CPU), $FS, kernel $(uname -r)")
print(f"  method    fresh root per run (prepare: move the used root aside, copy a template, sync), {len(slate['times'])} runs")
print(f"            after $WARMUP warmup run(s); nothing deleted while timing, nor in the ${SETTLE}s before on no-journal ext4")
print( "            (see drop() in install.sh); load average before timing: $LOAD_BEFORE;")
print( "            warm page cache (package files are cached; no drop_caches), as on a normal machine;")
print( "            both installers make the result durable: dpkg fsyncs each file, slate syncfs()es the staging tree;")
print( "            dpkg is isolated with --root=R --force-not-root --force-script-chrootless --log=/dev/null")
print( "            (its admin dir is R/var/lib/dpkg; /var/lib/dpkg/status checked unchanged)")
print()
print(f"  {'command':36} {'mean ms':>9} {'± sd':>7} {'min ms':>8} {'MB/s':>7} {'dpkg/slate':>11}")
for r in (slate, dxz, dzstd, verify, floor):
    ratio = f"{r['mean'] / slate['mean']:.2f}x" if r in (dxz, dzstd) else ""
    print(f"  {r['command']:36} {r['mean'] * 1e3:9.1f} {r['stddev'] * 1e3:7.1f} {r['min'] * 1e3:8.1f} "
          f"{mb / r['mean']:7.1f} {ratio:>11}")
print()
print(f"  verify alone is {100 * verify['mean'] / slate['mean']:.0f}% of slate install; "
      f"install minus verify: {1e3 * (slate['mean'] - verify['mean']):.1f} ms")
mbps = mb / slate["mean"]
for label, got, ok in (
    (f"slate >= {goal_ratio:g}x faster than dpkg (default .deb, xz)", f"{dxz['mean'] / slate['mean']:.2f}x",
     dxz["mean"] / slate["mean"] >= goal_ratio),
    (f"slate >= {goal_ratio:g}x faster than dpkg (same compressor, zstd)", f"{dzstd['mean'] / slate['mean']:.2f}x",
     dzstd["mean"] / slate["mean"] >= goal_ratio),
    (f"slate >= {goal_mbps:g} MB/s of payload", f"{mbps:.0f} MB/s", mbps >= goal_mbps),
):
    print(f"  goal {'met' if ok else 'missed'}: {label}: {got}")
print()
print(f"  raw: $JSON, $WORK/hyperfine.txt")
EOF
