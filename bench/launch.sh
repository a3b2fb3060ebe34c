#!/usr/bin/env bash
# bench/launch.sh: start a trivial app through slate's sandbox_spawn vs bwrap with the same namespaces.
#
# Both start the sandbox probe (tests/probe.c) with `--exit`: it loads libslate and returns
# from main at once, so what is timed is the launch. Same isolation on both sides: new user,
# mount, pid, ipc, uts and net namespaces, read-only binds of the app, libslate, the loader,
# libc and libm, the data folder read-write, a /proc and a /dev. slate also installs its
# seccomp filter and drops capabilities; bwrap gets no filter (as in the issue's figure).
# Goal (issue 3): at most half of bwrap's launch time.
#
# Two figures for slate: hyperfine's, where each launch is a fresh driver process (it loads
# libseccomp and compiles the filter every time, as bwrap starts fresh every time), and the
# driver's own --repeat mean, N launches from one process as slated makes them (the filter
# compiled once). Both count the app's run to its exit, as hyperfine does for bwrap.
#
#   bench/launch.sh                  # BUILD_DIR=... to use another build folder
#   RUNS=500 WARMUP=50 bench/launch.sh
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD_DIR:-$REPO/build-bench}
RUNS=${RUNS:-300}
WARMUP=${WARMUP:-30}
. "$REPO/bench/common.sh"

if ! command -v bwrap >/dev/null; then
    [ "$(id -u)" = 0 ] || die "bwrap is missing (apt-get install bubblewrap)"
    say "installing bubblewrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y bubblewrap >/dev/null ||
        { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y bubblewrap >/dev/null; }
fi
need_tools bwrap python3
# Only what is timed: the driver, the probe and libslate (a release build unless BUILD_DIR says otherwise).
if [ ! -f "$BUILD/build.ninja" ]; then
    say "configuring $BUILD (release)"
    meson setup "$BUILD" "$REPO" --buildtype=release >/dev/null
fi
say "building the launch driver and the probe in $BUILD"
ninja -C "$BUILD" -j2 tests/sandbox/launch-driver tests/sandbox/sandbox-probe system/slate-sandbox lib/libslate.so.1.0.0 >/dev/null

DRIVER=$BUILD/tests/sandbox/launch-driver
HELPER=$BUILD/system/slate-sandbox
PROBE=$BUILD/tests/sandbox/sandbox-probe
LIBSLATE=$BUILD/lib/libslate.so.1
[ -x "$DRIVER" ] && [ -x "$PROBE" ] || die "no launch-driver or probe in $BUILD"

WORK=$(mktemp -d /tmp/slate-launch-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/app/bin" "$WORK/data"
cp "$PROBE" "$WORK/app/bin/probe"

# The same files the driver binds (sandbox_libc_binds): the ABI's loader, libc and libm beside it.
LOADER=/lib64/ld-linux-x86-64.so.2
[ -e "$LOADER" ] || LOADER=$(find /lib /lib64 -maxdepth 1 -name 'ld-linux*.so.*' | head -n1)
LIBDIR=$(dirname "$(readlink -f "$LOADER")")

"$DRIVER" --helper "$HELPER" "$WORK/app" /app/bin/probe "$WORK/data" "$LIBSLATE" --exit ||
    die "the sandbox cannot start the probe here (are user namespaces allowed?)"

BWRAP="bwrap --unshare-user --unshare-pid --unshare-ipc --unshare-uts --unshare-net \
--ro-bind $WORK/app /app --ro-bind $LOADER $LOADER --ro-bind $LIBDIR/libc.so.6 $LIBDIR/libc.so.6 \
--ro-bind $LIBDIR/libm.so.6 $LIBDIR/libm.so.6 --ro-bind $LIBSLATE $LIBDIR/libslate.so.1 \
--bind $WORK/data /data --chdir /data --proc /proc --dev /dev /app/bin/probe --exit"
SLATE_CMD="$DRIVER --helper $HELPER $WORK/app /app/bin/probe $WORK/data $LIBSLATE --exit"
ALONE="env LD_LIBRARY_PATH=$BUILD/lib $PROBE --exit"

JSON=$WORK/results.json
hyperfine -N --style basic --warmup "$WARMUP" --runs "$RUNS" --export-json "$JSON" \
    -n "slate sandbox_spawn" "$SLATE_CMD" -n "bwrap" "$BWRAP" -n "binary alone" "$ALONE" >&2

REPEAT=$("$DRIVER" --helper "$HELPER" --repeat "$RUNS" "$WORK/app" /app/bin/probe "$WORK/data" "$LIBSLATE" --exit)
say "in one process: $REPEAT"
INPROC=$(printf '%s\n' "$REPEAT" | sed -n 's/.*mean \([0-9.]*\) ms.*/\1/p')

python3 - "$JSON" "$INPROC" <<'PY'
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
slate, bwrap, alone = (res[k]["mean"] * 1000 for k in ("slate sandbox_spawn", "bwrap", "binary alone"))
inproc = float(sys.argv[2])
print(f"bwrap: {bwrap:.2f} ms   binary alone (through env): {alone:.2f} ms")
print(f"slate, a fresh driver per launch: {slate:.2f} ms   slate / bwrap = {slate / bwrap:.2f}")
print(f"slate, launches from one process (slated): {inproc:.2f} ms   slate / bwrap = {inproc / bwrap:.2f}")
print("goal met: at most half of bwrap's launch time" if inproc <= bwrap / 2
      else "goal missed: more than half of bwrap's launch time")
PY
