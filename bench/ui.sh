#!/usr/bin/env bash
# bench/ui.sh: the toolkit rendering a settings-like list screen at 720x1600, side by side with Qt 5 Widgets
# and the memset floor, and the memory of an idle app showing that screen (issue 4, item 9).
#
# 1. Rendering, offscreen, the same screen (bench/ui/rows.h: 200 rows of 72 px, a 48 px icon, a 17 px and
#    a 14 px line of Noto Sans): bench/ui/slate-list (the toolkit's own code, through lib/ui/window.h) and
#    bench/ui/qt-list (Qt Widgets, offscreen platform, Fusion), each timing FRAMES frames after WARMUP:
#    - a full frame: every pixel drawn again;
#    - a scroll frame: the list moved by one row (72 px): the pixels on screen blitted, the strip that comes
#      into view drawn;
#    - the floors (in slate-list): a memset of the frame, and one memmove of the frame by a row (a scroll's
#      blit and nothing else).
#    ROUNDS rounds, the programs alternating; each figure is the median of the rounds' figures. Qt runs in
#    three forms: as a phone would run it (the pointer off the list), with the pointer resting on the list
#    (what the offscreen platform does by default, and a mouse over a desktop list), and with its icons
#    drawn once into pixmaps. Each program writes its last frame as a PNG, and checks it against a full
#    redraw of the same position. Goals (the issue): a full frame in at most half of Qt's time, a scroll
#    frame in at most a quarter of Qt's.
# 2. Memory: bench/ui/list-app (an API level 4 app showing that screen) started by slated
#    (`--display headless`) in its sandbox, idle for IDLE_S seconds; its VmRSS, Pss and USS (smaps_rollup),
#    and where they are (smaps). The same for qt-list --idle (the screen shown, then Qt's event loop).
#    Goal: under 12 MB resident per app.
#
# Needs root (slated's sandboxes and cgroups), Qt 5 (qtbase5-dev, installed from Debian when missing) and
# what the Slate build needs. Prints figures; fails only when something breaks.
#
#   bench/ui.sh                          # BUILD_DIR=... for another build folder (release by default)
#   FRAMES=1000 ROUNDS=9 bench/ui.sh
#   KEEP=1 bench/ui.sh                   # keep the work folder (slated's log, smaps, every round's output)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD_DIR:-$REPO/build-bench}
FRAMES=${FRAMES:-400}
WARMUP=${WARMUP:-30}
ROUNDS=${ROUNDS:-5}
IDLE_S=${IDLE_S:-5}
. "$REPO/bench/common.sh"

if [ "$(id -u)" != 0 ]; then
    say "skipped: slated needs root here (it makes cgroups); run bench/ui.sh as root"
    exit 0
fi
if ! pkg-config --exists Qt5Widgets; then
    say "installing qtbase5-dev (Qt 5 Widgets)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y qtbase5-dev >/dev/null ||
        { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y qtbase5-dev >/dev/null; }
fi
pkg-config --exists Qt5Widgets || die "Qt 5 Widgets is missing (apt-get install qtbase5-dev)"
command -v g++ >/dev/null || die "g++ is missing"
for f in /usr/share/fonts/truetype/noto/NotoSans-Regular.ttf \
    /usr/share/fonts/truetype/material-design-icons-iconfont/MaterialIcons-Regular.ttf; do
    [ -f "$f" ] || die "$f is missing (make deps)"
done

# The Slate programs build in our release build with -Dbench_ui=true (bench/ui/meson.build).
if [ ! -f "$BUILD/build.ninja" ]; then
    say "configuring $BUILD (release)"
    meson setup "$BUILD" "$REPO" --buildtype=release -Dbench_ui=true >/dev/null
elif [ "$(meson introspect "$BUILD" --buildoptions |
    python3 -c 'import json, sys; print([o["value"] for o in json.load(sys.stdin) if o["name"] == "bench_ui"])')" != "[True]" ]; then
    say "turning on bench_ui in $BUILD"
    # --reconfigure: a build folder made before the option existed does not know it yet.
    meson setup --reconfigure "$BUILD" "$REPO" -Dbench_ui=true >/dev/null
fi
say "building slate, slated, libslate, slate-list and list-app in $BUILD"
ninja -C "$BUILD" -j2 cli/slate system/slated system/slate-sandbox lib/libslate.so.1.0.0 bench/ui/slate-list \
    bench/ui/list-app >/dev/null
SLATE=$BUILD/cli/slate
SLATED=$BUILD/system/slated
SLATE_LIST=$BUILD/bench/ui/slate-list
LIST_APP=$BUILD/bench/ui/list-app
QT_LIST=$BUILD/bench/ui/qt-list
if [ ! -x "$QT_LIST" ] || [ "$REPO/bench/ui/qt-list.cpp" -nt "$QT_LIST" ] || [ "$REPO/bench/ui/rows.h" -nt "$QT_LIST" ]; then
    say "building qt-list (g++ -O2, Qt $(pkg-config --modversion Qt5Widgets))"
    # shellcheck disable=SC2046 # pkg-config's words are separate arguments
    g++ -O2 -Wall -Wextra -fPIC -std=c++17 "$REPO/bench/ui/qt-list.cpp" -o "$QT_LIST" \
        $(pkg-config --cflags --libs Qt5Widgets)
fi
for f in "$SLATE" "$SLATED" "$SLATE_LIST" "$LIST_APP" "$QT_LIST"; do [ -x "$f" ] || die "missing $f"; done

WORK=$(mktemp -d /tmp/slate-ui-XXXXXX)
chmod 0711 "$WORK" # slated (as root) runs the app under a uid of its own, which must reach the app's files
OUT=$BUILD/ui-bench # the screens, kept for a person to look at
mkdir -p "$OUT"
SLATED_PID=
QT_PID=
cleanup() {
    if [ -n "$QT_PID" ] && kill -0 "$QT_PID" 2>/dev/null; then
        kill -TERM "$QT_PID" 2>/dev/null || true
        wait "$QT_PID" 2>/dev/null || true
    fi
    if [ -n "$SLATED_PID" ] && kill -0 "$SLATED_PID" 2>/dev/null; then
        kill -TERM "$SLATED_PID" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$SLATED_PID" 2>/dev/null || break; sleep 0.05; done
        kill -0 "$SLATED_PID" 2>/dev/null && kill -KILL "$SLATED_PID" 2>/dev/null
        wait "$SLATED_PID" 2>/dev/null || true
    fi
    if [ -n "${KEEP:-}" ]; then say "kept $WORK (round outputs, slated.log, smaps.*)"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
unset SLATE_APP_PRELOAD SLATE_ROOT
export QT_QPA_PLATFORM=offscreen XDG_RUNTIME_DIR=$WORK/xdg
mkdir -m 0700 "$XDG_RUNTIME_DIR"

# ---- 1. rendering ----

# name: the command after FRAMES WARMUP OUT.png
declare -A RUN=(
    [slate]="$SLATE_LIST"
    [qt]="$QT_LIST"
    [qt-pointer]="$QT_LIST --pointer-over-list"
    [qt-pixmaps]="$QT_LIST --icons-as-pixmaps"
)
ORDER=(slate qt qt-pointer qt-pixmaps)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
say "rendering: $ROUNDS rounds of $FRAMES frames after $WARMUP warm-up frames, each program in turn"
for r in $(seq "$ROUNDS"); do
    for p in "${ORDER[@]}"; do
        read -r -a cmd <<<"${RUN[$p]}"
        "${cmd[0]}" "$FRAMES" "$WARMUP" "$OUT/$p.png" "${cmd[@]:1}" >"$WORK/$p.$r" 2>"$WORK/$p.$r.err" ||
            { cat "$WORK/$p.$r.err" >&2; die "$p failed in round $r"; }
        # A scrolled frame that differs from a full redraw of the same position: the figures would not be of this screen.
        d=$(awk '$2 == "scroll_vs_full_redraw_pixels_differing" {print $3}' "$WORK/$p.$r")
        [ "$d" = 0 ] || die "$p: the scrolled frame differs from a full redraw in ${d:-?} pixels"
    done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# fig PROGRAM RESULT FIELD: the median over the rounds of one figure (FIELD: 4 mean, 5 median, 6 p90).
fig() {
    cat "$WORK/$1".[0-9]* | awk -v n="$2" -v f="$3" '$1 == "result" && $2 == n {print $f}' | sort -g |
        awk '{v[NR] = $1} END {if (NR == 0) exit 1; printf "%.3f\n", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
info() { awk -v k="$2" '$1 == "info" && $2 == k {print $3}' "$WORK/$1.1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
row() { # label program result
    printf '| %s | %s | %s | %s |\n' "$1" "$(fig "$2" "$3" 4)" "$(fig "$2" "$3" 5)" "$(fig "$2" "$3" 6)"
}
SAME=$("$QT_LIST" --compare "$OUT/slate.png" "$OUT/qt.png")

# ---- 2. memory ----

R=$WORK/root
ID=org.bench.list
say "a device root (API level 4) with the list app installed ($WORK)"
"$SLATE" --root "$R" init --api-level 4 --min-api-level 1 >/dev/null
"$SLATE" keygen "$WORK/bench" >/dev/null
"$SLATE" --root "$R" trust "$WORK/bench.pub" >/dev/null
mkdir -p "$WORK/src/files/bin"
cp "$LIST_APP" "$WORK/src/files/bin/list-app"
printf '[package]\nid = %s\nversion = 1.0.0\napi_level = 4\nclass = app\n\n[app]\nexec = bin/list-app\nlabel = Settings list\nmemory = 64M\n' \
    "$ID" >"$WORK/src/manifest"
"$SLATE" pack "$WORK/src" --key "$WORK/bench.key" -o "$WORK/list.slp" >/dev/null
"$SLATE" --root "$R" install "$WORK/list.slp" >/dev/null

say "starting slated (--display headless) and the list app; idle for $IDLE_S s"
"$SLATED" --root "$R" --display headless --ready-fd 3 3>"$WORK/ready" 2>"$WORK/slated.log" &
SLATED_PID=$!
for _ in $(seq 200); do [ -s "$WORK/ready" ] && break; sleep 0.05; done
[ -s "$WORK/ready" ] || { cat "$WORK/slated.log" >&2; die "slated did not become ready"; }
"$SLATE" --root "$R" start "$ID" >/dev/null
APP_PID=
for _ in $(seq 100); do
    APP_PID=$("$SLATE" --root "$R" ps --json | python3 -c '
import json, sys
for a in json.load(sys.stdin):
    if a.get("id") == sys.argv[1] and a.get("pid"):
        print(a["pid"])' "$ID" 2>/dev/null || true)
    [ -n "$APP_PID" ] && break
    sleep 0.05
done
[ -n "$APP_PID" ] || { cat "$WORK/slated.log" >&2; die "$ID did not start"; }
sleep "$IDLE_S"
kill -0 "$APP_PID" 2>/dev/null || { cat "$WORK/slated.log" >&2; die "$ID exited"; }
"$SLATE" --root "$R" shot "$OUT/list-app.png" >/dev/null # what the device shows: the status bar over the list

say "qt-list --idle; idle for $IDLE_S s"
"$QT_LIST" --idle >"$WORK/qt-idle.out" 2>"$WORK/qt-idle.err" &
QT_PID=$!
for _ in $(seq 200); do grep -q '^info idle' "$WORK/qt-idle.out" && break; sleep 0.05; done
grep -q '^info idle' "$WORK/qt-idle.out" || { cat "$WORK/qt-idle.err" >&2; die "qt-list --idle did not show its screen"; }
sleep "$IDLE_S"

# KiB: VmRSS, and from smaps_rollup Pss (a page mapped by n processes counts 1/n), its anonymous, file and
# shared-memory parts, and USS (the pages only this process maps).
rollup() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/smaps_rollup"; }
mem_row() { # label pid
    local rss uss
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$2/status")
    uss=$(awk '$1 == "Private_Clean:" || $1 == "Private_Dirty:" {n += $2} END {print n}' "/proc/$2/smaps_rollup")
    cp "/proc/$2/smaps" "$WORK/smaps.$3"
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$rss" "$(rollup "$2" Pss)" "$(rollup "$2" Pss_Anon)" \
        "$(rollup "$2" Pss_File)" "$(rollup "$2" Pss_Shmem)" "$uss"
}
MEM_SLATE=$(mem_row "Slate: list-app under slated (sandboxed)" "$APP_PID" slate)
MEM_QT=$(mem_row "Qt: qt-list --idle (offscreen, no sandbox)" "$QT_PID" qt)
SLATE_RSS=$(echo "$MEM_SLATE" | awk -F'|' '{gsub(/ /, "", $3); print $3}')
# Where the resident pages are: per mapping, the largest.
where() {
    awk '
        /^[0-9a-f]+-[0-9a-f]+ / { name = (NF >= 6) ? $6 : "[anon]"; sub(".*/", "", name); next }
        $1 == "Rss:" { rss[name] += $2 } $1 == "Pss:" { pss[name] += $2 }
        $1 == "Private_Clean:" || $1 == "Private_Dirty:" { uss[name] += $2 }
        END { for (n in rss) if (rss[n] > 0) printf "%d %d %d %s\n", rss[n], pss[n], uss[n], n }' "$WORK/smaps.$1" |
        sort -rn | awk -v top="$2" '
        NR <= top { printf "| %s | %d | %d | %d |\n", $4, $1, $2, $3; next }
        { r += $1; p += $2; u += $3; n++ }
        END { if (n) printf "| %d others | %d | %d | %d |\n", n, r, p, u }'
}

# ---- the report ----

S_FULL=$(fig slate full 5) Q_FULL=$(fig qt full 5) S_SCROLL=$(fig slate scroll 5) Q_SCROLL=$(fig qt scroll 5)
QP_SCROLL=$(fig qt-pointer scroll 5)
echo
echo "## UI: a settings-like list at 720x1600, 200 rows of 72 px (ms per frame)"
echo "($(nproc) CPUs; kernel $(uname -r); Qt $(pkg-config --modversion Qt5Widgets); load average $LOAD_BEFORE before, $LOAD_AFTER after;"
echo "$ROUNDS rounds of $FRAMES frames after $WARMUP warm-up frames; each figure the median of the rounds')"
echo
echo "| frame | mean | median | p90 |"
echo "|---|---|---|---|"
row "Slate: full frame" slate full
row "Qt Widgets: full frame" qt full
row "Qt Widgets, icons as cached pixmaps: full frame" qt-pixmaps full
row "Slate: scroll frame (one row)" slate scroll
row "Qt Widgets: scroll frame (one row; pointer off the list)" qt scroll
row "Qt Widgets: scroll frame (one row; pointer resting on the list)" qt-pointer scroll
row "Qt Widgets, icons as cached pixmaps: scroll frame" qt-pixmaps scroll
row "memset of the frame (the floor of a full frame)" slate memset
row "memmove of the frame by one row (the floor of a scroll's blit)" slate memmove
echo
echo "| Slate / Qt | by mean | by median |"
echo "|---|---|---|"
echo "| full frame | $(ratio "$(fig slate full 4)" "$(fig qt full 4)") | $(ratio "$S_FULL" "$Q_FULL") |"
echo "| scroll frame (Qt: pointer off the list) | $(ratio "$(fig slate scroll 4)" "$(fig qt scroll 4)") | $(ratio "$S_SCROLL" "$Q_SCROLL") |"
echo "| scroll frame (Qt: pointer on the list) | $(ratio "$(fig slate scroll 4)" "$(fig qt-pointer scroll 4)") | $(ratio "$S_SCROLL" "$QP_SCROLL") |"
echo
echo "Rows painted by Qt's delegate: $(info qt rows_painted_per_full_frame) a full frame, $(info qt rows_painted_per_scroll_frame) a scroll frame" \
    "($(info qt-pointer rows_painted_per_scroll_frame) with the pointer on the list); rows the toolkit built a scroll frame:" \
    "$(info slate rows_built_per_scroll_frame). Every program's last scrolled frame equals a full redraw of it."
echo "The two screens ($OUT/slate.png, $OUT/qt.png): $(echo "$SAME" | awk '{printf "%d of %d pixels differ, %d by more than 64 in a channel", $5, $3, $7}')."
echo "First frame after start (fonts and libraries loaded): Slate $(info slate first_frame_ms) ms, Qt $(info qt first_frame_ms) ms."
echo
awk -v s="$S_FULL" -v q="$Q_FULL" 'BEGIN {
    printf "goal %s: a full frame in at most half of Qt'"'"'s time (median: Slate %.3f ms, Qt %.3f ms, %.2fx)\n",
        s <= q / 2 ? "met" : "missed", s, q, s / q }'
awk -v s="$S_SCROLL" -v q="$Q_SCROLL" -v f="$(fig slate memmove 5)" 'BEGIN {
    printf "goal %s: a scroll frame in at most a quarter of Qt'"'"'s (median: Slate %.3f ms, Qt %.3f ms, %.2fx; a quarter is %.3f ms, the blit alone %.3f ms)\n",
        s <= q / 4 ? "met" : "missed", s, q, s / q, q / 4, f }'
echo
echo "## Memory of an idle app showing that screen (KiB, after $IDLE_S s idle)"
echo
echo "| app | VmRSS | Pss | Pss_Anon | Pss_File | Pss_Shmem | USS |"
echo "|---|---|---|---|---|---|---|"
echo "$MEM_SLATE"
echo "$MEM_QT"
echo
if [ "$SLATE_RSS" -lt 12288 ]; then
    echo "goal met: the app under 12 MB resident (VmRSS $SLATE_RSS KiB)"
else
    echo "goal missed: the app $SLATE_RSS KiB resident (VmRSS), not under 12 MB (12288 KiB)"
fi
echo
echo "Where the list app's resident pages are (KiB; the window is the memfd slated maps too):"
echo
echo "| mapping | Rss | Pss | USS |"
echo "|---|---|---|---|"
where slate 12
echo
echo "Where qt-list's are:"
echo
echo "| mapping | Rss | Pss | USS |"
echo "|---|---|---|---|"
where qt 12
echo
echo "Screens: $OUT/slate.png, $OUT/qt.png (the last scrolled frames), $OUT/list-app.png (the device, status bar included)."
