#!/usr/bin/env bash
# bench/slated.sh: slated launching an app (`slate start` to the app's main) vs bwrap, and slated's idle memory.
#
# 1. Launch. The app (bench/slated-app.c, an SDK app) reads CLOCK_MONOTONIC first thing in main
#    and leaves the value in its data folder; the driver (bench/slated-driver.c) takes t0 just
#    before it starts the command and subtracts. Side by side, interleaved, in one run:
#    - `slate --root R start ID`: the whole user path (the CLI process, the control socket,
#      slated loading the app from its database, making the sandbox), to the app's main;
#    - MSG_START sent by the driver on a control connection it keeps open (no CLI process);
#    - bwrap starting the same installed binary with the same isolation (user, mount, pid, ipc,
#      uts and net namespaces, the same read-only binds, /proc, /dev, /tmp, no capabilities)
#      and a seccomp filter equivalent to slated's (compiled by the driver with libseccomp);
#    - the same bwrap without a filter (the issue's reference), the binary alone, and
#      `slate --help` (what the CLI process costs by itself).
#    Goal (the issue): at most half of bwrap's launch time.
# 2. Memory: slated's VmRSS and Pss (smaps_rollup) when idle with 10 apps installed, before
#    any start, after starting and stopping each once, and after the launch runs, its spare
#    sandboxes counted with it; then where its resident pages are (per mapping, from
#    /proc/PID/smaps). Goal: under 2 MB resident (Pss, as Android counts a process's memory).
#
# Needs root (slated's cgroups; this machine has cgroup v1) and bubblewrap (installed from
# Debian when missing). Prints figures; fails only when something breaks.
#
#   bench/slated.sh                   # BUILD_DIR=... for another build folder (release by default)
#   RUNS=500 WARMUP=30 bench/slated.sh
#   GAP_MS=0 bench/slated.sh          # no pause between launches (default 100 ms; see slated-driver.c)
#   KEEP=1 bench/slated.sh            # keep the work folder (every launch's times, slated's log, smaps)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD_DIR:-$REPO/build-bench}
RUNS=${RUNS:-200}
WARMUP=${WARMUP:-20}
GAP_MS=${GAP_MS:-100}
NAPPS=10
. "$REPO/bench/common.sh"

if [ "$(id -u)" != 0 ]; then
    say "skipped: slated needs root here (it makes cgroups); run bench/slated.sh as root"
    exit 0
fi
if ! command -v bwrap >/dev/null; then
    say "installing bubblewrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y bubblewrap >/dev/null ||
        { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y bubblewrap >/dev/null; }
fi
command -v bwrap >/dev/null || die "bwrap is missing"

if [ ! -f "$BUILD/build.ninja" ]; then
    say "configuring $BUILD (release)"
    meson setup "$BUILD" "$REPO" --buildtype=release >/dev/null
fi
say "building slate, slated, libslate, the driver and the app in $BUILD"
ninja -C "$BUILD" -j2 cli/slate system/slated system/slate-sandbox lib/libslate.so.1.0.0 tests/sandbox/slated-driver \
    tests/sandbox/slated-app >/dev/null
SLATE=$BUILD/cli/slate
SLATED=$BUILD/system/slated
DRIVER=$BUILD/tests/sandbox/slated-driver
APP=$BUILD/tests/sandbox/slated-app
LIBSLATE=$(readlink -f "$BUILD/lib/libslate.so.1")
for f in "$SLATE" "$SLATED" "$DRIVER" "$APP"; do [ -x "$f" ] || die "missing $f"; done

WORK=$(mktemp -d /tmp/slate-slated-XXXXXX)
chmod 0711 "$WORK" # slated (as root) runs each app under a uid of its own, which must reach the app's files
SLATED_PID=
cleanup() {
    if [ -n "$SLATED_PID" ] && kill -0 "$SLATED_PID" 2>/dev/null; then
        kill -TERM "$SLATED_PID" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$SLATED_PID" 2>/dev/null || break; sleep 0.05; done
        kill -0 "$SLATED_PID" 2>/dev/null && kill -KILL "$SLATED_PID" 2>/dev/null
        wait "$SLATED_PID" 2>/dev/null || true
    fi
    if [ -n "${KEEP:-}" ]; then say "kept $WORK (launch.tsv: every launch; slated.log; smaps.N)"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
unset SLATE_APP_PRELOAD SLATE_ROOT
R=$WORK/root
id_of() { printf 'org.bench.app%02d' "$1"; }
DATA=$R/var/lib/slate/data

say "a device root with $NAPPS apps installed ($WORK)"
"$SLATE" --root "$R" init --api-level 3 --min-api-level 1 >/dev/null
"$SLATE" keygen "$WORK/bench" >/dev/null
"$SLATE" --root "$R" trust "$WORK/bench.pub" >/dev/null
for i in $(seq "$NAPPS"); do
    id=$(id_of "$i")
    src=$WORK/src/$id
    mkdir -p "$src/files/bin"
    cp "$APP" "$src/files/bin/app"
    printf '[package]\nid = %s\nversion = 1.0.0\napi_level = 3\nclass = app\n\n[app]\nexec = bin/app\nlabel = Bench %02d\n' \
        "$id" "$i" >"$src/manifest"
    "$SLATE" pack "$src" --key "$WORK/bench.key" -o "$WORK/$id.slp" >/dev/null
    "$SLATE" --root "$R" install "$WORK/$id.slp" >/dev/null
done

say "starting slated"
"$SLATED" --root "$R" 2>"$WORK/slated.log" &
SLATED_PID=$!
for _ in $(seq 200); do [ -f "$R/run/slate/ready" ] && break; sleep 0.05; done
[ -f "$R/run/slate/ready" ] || { cat "$WORK/slated.log" >&2; die "slated did not become ready"; }

# slated's memory in KiB: VmRSS, and from smaps_rollup Pss (its share of every page it maps: a library
# page used by n processes counts 1/n) and USS (the pages only it maps). Its spare sandboxes (children
# waiting for an app; the only children while no app runs) share most of its pages, which lowers its
# own Pss: they are counted with it. Measured once the database has been idle past slated's 5 s, when
# SQLite is unloaded, as on a device nobody touches.
MEM_ROWS=()
rollup() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/smaps_rollup"; }
uss() { awk '$1 == "Private_Clean:" || $1 == "Private_Dirty:" {n += $2} END {print n}' "/proc/$1/smaps_rollup"; }
measure() {
    local what=$1 rss pss own spares=0 spare_pss=0 spare_uss=0 p
    sleep 6
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$SLATED_PID/status")
    pss=$(rollup "$SLATED_PID" Pss)
    own=$(uss "$SLATED_PID")
    for p in $(pgrep -P "$SLATED_PID" || true); do
        spares=$((spares + 1))
        spare_pss=$((spare_pss + $(rollup "$p" Pss)))
        spare_uss=$((spare_uss + $(uss "$p")))
    done
    MEM_ROWS+=("| $what | $rss | $pss | $own | $spares | $spare_pss | $spare_uss | $((pss + spare_pss)) |")
    TOTAL_PSS=$((pss + spare_pss))
    cp "/proc/$SLATED_PID/smaps" "$WORK/smaps.$((${#MEM_ROWS[@]}))"
}

measure "idle, $NAPPS apps installed, none started yet"

say "starting and stopping each app once (they stay in the SDK's loop until stopped)"
for i in $(seq "$NAPPS"); do
    id=$(id_of "$i")
    mkdir -p "$DATA/$id"
    rm -f "$DATA/$id/stamp"
    : >"$DATA/$id/stay"
    "$SLATE" --root "$R" start "$id" >/dev/null
    for _ in $(seq 200); do [ -f "$DATA/$id/stamp" ] && break; sleep 0.01; done
done
sleep 0.5 # every app has said hello: each gets a stop event, not a SIGKILL
APP_PID=$("$SLATE" --root "$R" ps --json | awk -v id="$(id_of "$NAPPS")" -F'"pid": ' \
    'index($0, "\"" id "\"") { split($2, a, ","); print a[1] }')
APP_RSS=$(awk '/^VmRSS:/ {print $2}' "/proc/$APP_PID/status" 2>/dev/null || echo "?")
for i in $(seq "$NAPPS"); do
    id=$(id_of "$i")
    out=$("$SLATE" --root "$R" stop "$id")
    case $out in *"exited with status 0"*) ;; *) die "$id did not stop cleanly: $out" ;; esac
    rm -f "$DATA/$id/stay"
done
measure "idle, after starting and stopping each once"

say "launch timing: $RUNS rounds after $WARMUP warm-up rounds (slated, bwrap, the binary alone)"
ID=$(id_of 1)
mkdir -p "$WORK/bwrap-data" "$WORK/alone-data"
"$DRIVER" bpf "$WORK/filter.bpf"
# Check the bwrap line works before timing it (and that the filter lets the app run).
DRIVE=("$DRIVER" launch --root "$R" --id "$ID" --slate "$SLATE" --app-dir "$R/var/lib/slate/apps/$ID/1.0.0"
    --libslate "$LIBSLATE" --bpf "$WORK/filter.bpf" --bwrap-data "$WORK/bwrap-data"
    --alone-data "$WORK/alone-data" --ld-path "$BUILD/lib")
LAUNCH=$("${DRIVE[@]}" --runs "$RUNS" --warmup "$WARMUP" --gap-ms "$GAP_MS" --raw "$WORK/launch.tsv")
# The same request in quick succession: each move into the app's cgroup (cgroup v1) then comes within
# the RCU grace period of the one before and does not wait for another. The difference to the figure
# above is what that wait costs.
say "launch timing, back to back: MSG_START only, $RUNS launches with no pause between them"
QUICK=$("${DRIVE[@]}" --runs "$RUNS" --warmup 5 --gap-ms 0 --variants direct --raw "$WORK/launch-quick.tsv")
measure "idle, after the $(( (RUNS + WARMUP) * 2 + RUNS + 5 )) launches of the timing"

echo
echo "## slated vs bwrap: launch, from t0 to the app's first instruction of main"
echo "(load average before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs; kernel $(uname -r))"
echo
printf '%s\n' "$LAUNCH"
echo
echo "Back to back (no pause; each launch within the cgroup v1 grace period of the one before):"
echo
printf '%s\n' "$QUICK" | grep '^|'
echo
echo "## slated's memory (KiB)"
echo
echo "| slated | VmRSS | Pss | USS | spares | their Pss | their USS | Pss, slated and spares |"
echo "|---|---|---|---|---|---|---|---|"
printf '%s\n' "${MEM_ROWS[@]}"
echo
# The floor of VmRSS for any process on this C library: most of it is libc's pages, shared by every process.
sleep 30 & SLEEP_PID=$!
sleep 0.2
FLOOR=$(awk '/^VmRSS:/ {print $2}' "/proc/$SLEEP_PID/status")
kill "$SLEEP_PID"
echo "For scale: one of the apps (libc + libslate, in the SDK's loop) had VmRSS $APP_RSS KiB; \`sleep\` has VmRSS $FLOOR KiB."
LAST=$WORK/smaps.${#MEM_ROWS[@]}
if [ "$TOTAL_PSS" -lt 2048 ]; then
    echo "goal met: slated resident under 2 MB (Pss of slated and its spares: $TOTAL_PSS KiB)"
else
    echo "goal missed: slated resident $TOTAL_PSS KiB (Pss of slated and its spares), not under 2 MB (2048 KiB)"
fi
echo
echo "Where slated's resident pages are (the last measurement; KiB; Private_Dirty is what slated alone pays):"
echo
echo "| mapping | Rss | Pss | Private_Dirty |"
echo "|---|---|---|---|"
awk '
    /^[0-9a-f]+-[0-9a-f]+ / { name = (NF >= 6) ? $6 : "[anon]"; sub(".*/", "", name); next }
    $1 == "Rss:" { rss[name] += $2 } $1 == "Pss:" { pss[name] += $2 } $1 == "Private_Dirty:" { pd[name] += $2 }
    END { for (n in rss) if (rss[n] > 0) printf "%d %d %d %s\n", rss[n], pss[n], pd[n], n }' "$LAST" |
    sort -rn | awk '
    NR <= 15 { printf "| %s | %d | %d | %d |\n", $4, $1, $2, $3; next }
    { r += $1; p += $2; d += $3; n++ }
    END { if (n) printf "| %d others | %d | %d | %d |\n", n, r, p, d }'
NLIBS=$(grep -c '\.so' /proc/"$SLATED_PID"/maps | tr -d ' ' || true)
echo
echo "slated maps $(awk '/\.so/ {print $6}' /proc/"$SLATED_PID"/maps | sort -u | wc -l) shared objects ($NLIBS mappings)."
