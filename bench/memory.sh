#!/usr/bin/env bash
# bench/memory.sh: slated's memory manager against the kernel's OOM killer and earlyoom, on the same
# device and load (issue 6, item 8).
#
# The load, the same everywhere (sized to the device, as test_memory_pressure does at 256 MiB): three
# background apps hold 3/16 of the device each, started one after the other; the older ones are
# cached (frozen) by the time a foreground app starts growing by 2 MiB every 25 ms to 10/16 of the
# device, which then has to give up memory somewhere. bench/memory/run.c makes each run and measures.
#
# 1. Host: a 512 MiB device, slated in a memory-limited cgroup v1 (as test_memory_pressure), twice:
#    slated's manager on, and `slated --no-memory-manager` (the kernel's OOM killer in that cgroup).
# 2. Guest: earlyoom watches a whole machine's memory and cannot see a cgroup limit, so the same load
#    runs in a QEMU guest with 1 GB of RAM (software emulation, -accel tcg; Debian's kernel, an
#    initramfs made here): under earlyoom (Debian's package, its default flags, plus --avoid for the
#    foreground app, as a user would configure it; and once more without), and under slated with its
#    manager on and off. The guest has cgroup v2, so slated runs its v2 path there; once more on a
#    512 MiB device inside it (a v2 group with memory.max, the load sized to it), manager on and off.
#
# Reported per run: time from pressure onset to relief, kills, whether the foreground app survived,
# its stall time (PSI full of its own cgroup), the manager's wake-ups while idle and its memory.
# Goals (the issue): the foreground app survives every run, at most half of earlyoom's stall time,
# no wake-ups while idle, slated under 2 MB resident. Prints figures; fails only when something breaks.
#
#   bench/memory.sh                  # BUILD_DIR=... for another build folder (release by default)
#   IDLE_S=30 bench/memory.sh        # a longer idle window (default 10 s)
#   GUEST=0 bench/memory.sh          # the host part only (HOST=0: the guest part only)
#   GUEST_RUNS=slated bench/memory.sh   # some of the guest's runs (earlyoom earlyoom-plain slated kernel
#                                       # slated-confined kernel-confined; and slated-budget, not a comparison:
#                                       # the foreground app past its own budget, for the tests)
#   KEEP=1 bench/memory.sh           # keep the work folder (every log, the guest's console, the initramfs)
#
# Needs root (cgroups, slated), the Slate build's dependencies, and from Debian: qemu-system-x86 and
# cpio (installed when missing); the kernel and earlyoom packages are downloaded with apt-get download
# and unpacked into the work folder, never installed on this machine.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD_DIR:-$REPO/build-bench}
WORK=${BENCH_DIR:-$BUILD/memory-work}
HOST_MIB=${HOST_MIB:-512}
GUEST_MIB=${GUEST_MIB:-1024}
GUEST_SMP=${GUEST_SMP:-1}
GUEST_TIMEOUT=${GUEST_TIMEOUT:-420}
IDLE_S=${IDLE_S:-10}
HOST=${HOST:-1}
GUEST=${GUEST:-1}
GUEST_RUNS=${GUEST_RUNS:-earlyoom earlyoom-plain slated kernel slated-confined kernel-confined}
CONFINED_MIB=${CONFINED_MIB:-512}
. "$REPO/bench/common.sh"

if [ "$(id -u)" != 0 ]; then
    say "skipped: slated and the device's cgroups need root; run bench/memory.sh as root"
    exit 0
fi

# ---- tools and builds ----

apt_install() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} = 0 ] && return
    say "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null ||
        { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; }
}
[ "$GUEST" = 1 ] && apt_install qemu-system-x86 cpio
for t in meson ninja; do command -v $t >/dev/null || die "$t is missing (make deps)"; done

if [ ! -f "$BUILD/build.ninja" ]; then
    say "configuring $BUILD (release)"
    meson setup "$BUILD" "$REPO" --buildtype=release >/dev/null
fi
say "building slate, slated, libslate and the test app in $BUILD"
ninja -C "$BUILD" -j2 cli/slate system/slated system/slate-sandbox lib/libslate.so.1.0.0 tests/slated/slated-testapp >/dev/null
HELPERS=$BUILD/bench-memory
if [ ! -f "$HELPERS/build.ninja" ]; then
    meson setup "$HELPERS" "$REPO/bench/memory" >/dev/null
fi
say "building the benchmark's helpers in $HELPERS"
ninja -C "$HELPERS" -j2 >/dev/null
SLATE=$BUILD/cli/slate
SLATED=$BUILD/system/slated
SANDBOX=$BUILD/system/slate-sandbox
TESTAPP=$BUILD/tests/slated/slated-testapp
LIBSLATE=$(readlink -f "$BUILD/lib/libslate.so.1")
RUN=$HELPERS/memory-run
for f in "$SLATE" "$SLATED" "$SANDBOX" "$TESTAPP" "$LIBSLATE" "$RUN" "$HELPERS/memory-load" "$HELPERS/guest-init"; do
    [ -e "$f" ] || die "missing $f"
done

# ---- the work folder ----

rm -rf "$WORK/run"
mkdir -p "$WORK/run" "$WORK/cache"
# slated (as root) runs each app under a uid of its own, which must reach the app's files.
chmod 0711 "$WORK" "$WORK/run"
R=$WORK/run
RESULTS=$R/results.txt
: >"$RESULTS"
cleanup() {
    if [ -n "${KEEP:-}" ]; then say "kept $R (results.txt; per run: NAME.out, NAME.log; guest-console.txt)"; else rm -rf "$R"; fi
}
trap cleanup EXIT
trap 'say "failed at line $LINENO: $BASH_COMMAND"' ERR
"$SLATE" keygen "$R/bench" >/dev/null

# The load for a device of $1 MiB: HOARD_MIB each for three background apps, GROW_MIB for the foreground one.
size_load() {
    HOARD_MIB=$(($1 * 3 / 16))
    GROW_MIB=$(($1 * 10 / 16))
}

# A device root ($1) with the test app installed under the four ids run.c starts; budgets above what each holds
# (or $2 for the foreground app's).
make_device_root() {
    local root=$1 fg_mem=${2:-} id mem src
    "$SLATE" --root "$root" init --api-level 3 --min-api-level 1 >/dev/null
    "$SLATE" --root "$root" trust "$R/bench.pub" >/dev/null
    for id in org.app1.hoard org.app2.hoard org.app3.hoard org.front.grow; do
        case $id in *.hoard) mem=$((HOARD_MIB + 32))M ;; *) mem=${fg_mem:-$((GROW_MIB + 64))M} ;; esac
        src=$R/src/$id
        rm -rf "$src"
        mkdir -p "$src/files/bin"
        cp "$TESTAPP" "$src/files/bin/app"
        printf '[package]\nid = %s\nversion = 1.0.0\napi_level = 3\nclass = app\n\n[app]\nexec = bin/app\nlabel = %s\nmemory = %s\n' \
            "$id" "$id" "$mem" >"$src/manifest"
        "$SLATE" pack "$src" --key "$R/bench.key" -o "$R/src/$id.slp" >/dev/null
        "$SLATE" --root "$root" install "$R/src/$id.slp" >/dev/null
    done
}

# ---- 1. the host: a cgroup v1 device ----

# The cgroup v1 memory folder this shell is in (the device goes under it) and the cgroup2 mount.
own_v1_memory() {
    local line
    while IFS= read -r line; do
        case $line in *:memory:*) echo "/sys/fs/cgroup/memory${line##*:memory:}" | sed 's|/$||'; return ;; esac
    done </proc/self/cgroup
}
cgroup2_mount() { awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts; }

if [ "$HOST" = 1 ]; then
    V1=$(own_v1_memory)
    V2=$(cgroup2_mount)
    [ -n "$V1" ] && [ -d "$V1" ] || die "no cgroup v1 memory hierarchy here: the host part builds its device on one (HOST=0 skips it)"
    [ -n "$V2" ] || die "no cgroup2 mount: the per-cgroup PSI comes from the unified hierarchy"
    size_load "$HOST_MIB"
    HOST_HOARD=$HOARD_MIB HOST_GROW=$GROW_MIB
    say "host: a $HOST_MIB MiB device (cgroup v1 under $V1), 3 x $HOARD_MIB MiB in the background, the foreground app growing to $GROW_MIB MiB"
    make_device_root "$R/host-template"
    for mode in slated kernel; do
        name=host-$mode
        rm -rf "$R/$name-root"
        cp -a "$R/host-template" "$R/$name-root"
        say "$name: a run ($( [ $mode = slated ] && echo "slated's manager on" || echo "slated --no-memory-manager: the kernel's OOM killer" ))"
        "$RUN" --mode "$mode" --name "$name" --hoard-mib "$HOARD_MIB" --grow-mib "$GROW_MIB" \
            --device-v1 "$V1/slate-bench-device-$$" --limit $((HOST_MIB << 20)) --v2 "$V2" \
            --slated "$SLATED" --slate "$SLATE" --root "$R/$name-root" --log "$R/$name.log" \
            --idle-s "$IDLE_S" >"$R/$name.out" 2> >(sed "s/^/  /" >&2) ||
            { cat "$R/$name.out" >&2; die "$name failed"; }
        grep '^result ' "$R/$name.out" >>"$RESULTS"
    done
fi

# ---- 2. the guest: 1 GB, earlyoom and slated ----

# One file and, when it is a symbolic link, what it points to, under the same paths in the guest's tree.
stage_file() {
    local p=$1 t
    while :; do
        mkdir -p "$STAGE$(dirname "$p")"
        if [ -L "$p" ]; then
            [ -e "$STAGE$p" ] || [ -L "$STAGE$p" ] || cp -P "$p" "$STAGE$p"
            t=$(readlink "$p")
            case $t in /*) p=$t ;; *) p=$(dirname "$p")/$t ;; esac
        else
            [ -e "$STAGE$p" ] || cp "$p" "$STAGE$p"
            return
        fi
    done
}

# The shared libraries a dynamic ELF file needs, as the loader finds them here.
libs_of() {
    ldd "$1" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' || true
}

if [ "$GUEST" = 1 ]; then
    # Debian's kernel: the version linux-image-amd64 points to, downloaded once, only vmlinuz kept.
    KPKG=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ && !f { print $2; f = 1 }')
    [ -n "$KPKG" ] || die "apt-cache knows no linux-image-amd64 (apt-get update?)"
    KVER=${KPKG#linux-image-}
    VMLINUZ=$WORK/cache/vmlinuz-$KVER
    if [ ! -f "$VMLINUZ" ]; then
        say "guest: downloading $KPKG (Debian's kernel; unpacked here, not installed)"
        rm -rf "$WORK/cache/kernel"
        mkdir -p "$WORK/cache/kernel"
        (cd "$WORK/cache/kernel" && apt-get download -q "$KPKG" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2 || true)
        deb=$(ls "$WORK/cache/kernel/${KPKG}_"*.deb 2>/dev/null | head -1)
        [ -n "$deb" ] || die "apt-get download $KPKG failed"
        dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$WORK/cache/kernel" "./boot/vmlinuz-$KVER"
        mv "$WORK/cache/kernel/boot/vmlinuz-$KVER" "$VMLINUZ"
        rm -rf "$WORK/cache/kernel"
    fi
    # earlyoom: Debian's package, unpacked (installed, it would start watching this machine).
    EO_VER=$(apt-cache policy earlyoom 2>/dev/null | awk '/Candidate:/ { print $2 }')
    [ -n "$EO_VER" ] && [ "$EO_VER" != "(none)" ] || die "apt-cache knows no earlyoom"
    EO_DIR=$WORK/cache/earlyoom-$EO_VER
    if [ ! -x "$EO_DIR/usr/bin/earlyoom" ]; then
        say "guest: downloading earlyoom $EO_VER (Debian's package; unpacked here, not installed)"
        rm -rf "$EO_DIR" "$WORK/cache/eo-deb"
        mkdir -p "$WORK/cache/eo-deb"
        (cd "$WORK/cache/eo-deb" && apt-get download -q earlyoom 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2 || true)
        deb=$(ls "$WORK/cache/eo-deb/"earlyoom_*.deb 2>/dev/null | head -1)
        [ -n "$deb" ] || die "apt-get download earlyoom failed"
        dpkg-deb -x "$deb" "$EO_DIR"
        rm -rf "$WORK/cache/eo-deb"
    fi
    # Debian's defaults for the service (/etc/default/earlyoom), word by word.
    EO_ARGS=$(sed -n 's/^EARLYOOM_ARGS="\(.*\)"/\1/p' "$EO_DIR/etc/default/earlyoom")

    size_load "$GUEST_MIB"
    GUEST_HOARD=$HOARD_MIB GUEST_GROW=$GROW_MIB
    say "guest: $GUEST_MIB MiB of RAM, 3 x $HOARD_MIB MiB in the background, the foreground app growing to $GROW_MIB MiB"

    # The initramfs: the same paths as here (merged /usr kept), only what the runs need.
    STAGE=$R/guest-root
    mkdir -p "$STAGE"/{bench/bin,proc,sys,dev,tmp,run,etc,slate/bin,slate/lib,usr/bin,usr/lib,usr/sbin}
    for d in bin sbin lib lib64; do
        if [ -L "/$d" ]; then cp -P "/$d" "$STAGE/$d" && mkdir -p "$STAGE/$(readlink -f "/$d")"; else mkdir -p "$STAGE/$d"; fi
    done
    cp "$HELPERS/guest-init" "$STAGE/init"
    cp "$RUN" "$STAGE/bench/memory-run"
    cp "$HELPERS/memory-load" "$STAGE/bench/memory-load"
    # Two names for the plain apps: earlyoom tells processes apart by name.
    ln -s ../memory-load "$STAGE/bench/bin/fgapp"
    ln -s ../memory-load "$STAGE/bench/bin/bgapp"
    cp "$EO_DIR/usr/bin/earlyoom" "$STAGE/usr/bin/earlyoom"
    cp "$SLATED" "$STAGE/slate/bin/slated"
    cp "$SANDBOX" "$STAGE/slate/bin/slate-sandbox" # what every sandbox runs, found beside slated
    cp "$SLATE" "$STAGE/slate/bin/slate"
    cp "$LIBSLATE" "$STAGE/slate/lib/libslate.so.1"
    # Libraries: what each binary needs; the ones slated and slate open on first use (named in their
    # code; not libcurl or libarchive, for fetch and package reading, which the guest runs never do);
    # each with what it needs in turn; and the loader and libm at the paths sandboxes bind.
    {
        for f in "$SLATED" "$SANDBOX" "$SLATE" "$LIBSLATE" "$EO_DIR/usr/bin/earlyoom"; do libs_of "$f"; done
        strings -a "$SLATED" "$SLATE" | { grep -E '^lib[A-Za-z0-9_+.-]+\.so(\.[0-9]+)*$' || true; } | sort -u |
            { grep -v -E '^lib(curl|archive|slate)\.' || true; } | while read -r soname; do
                # (awk reads to the end: ldconfig must not die of SIGPIPE under pipefail)
                lib=$(ldconfig -p | awk -v n="$soname" '$1 == n && /x86-64/ && !f { print $NF; f = 1 }')
                if [ -n "$lib" ]; then echo "$lib"; libs_of "$lib"; fi
            done
    } | sort -u | while read -r lib; do stage_file "$lib"; done

    # The device roots (slated's with the manager on and off), prepared here with this slate; those of
    # the confined device with the budgets of its load.
    make_device_root "$R/guest-template"
    cp -a "$R/guest-template" "$STAGE/device-slated"
    cp -a "$R/guest-template" "$STAGE/device-kernel"
    size_load "$CONFINED_MIB"
    confined="--hoard-mib $HOARD_MIB --grow-mib $GROW_MIB --v2-device yes --limit $((CONFINED_MIB << 20))"
    make_device_root "$R/confined-template"
    cp -a "$R/confined-template" "$STAGE/device-slated-confined"
    cp -a "$R/confined-template" "$STAGE/device-kernel-confined"
    size_load "$GUEST_MIB"
    # The foreground app past its own budget (memory.high at 2/5 of its growth) on a machine with room.
    make_device_root "$STAGE/device-slated-budget" "$((GROW_MIB * 2 / 5))M"

    # The runs, one command line each (no quoting: the guest's init splits at blanks).
    common="--v2 /sys/fs/cgroup --idle-s $IDLE_S --sample-ms 10 --timeout-s 240"
    whole="--hoard-mib $HOARD_MIB --grow-mib $GROW_MIB"
    eo="--earlyoom /usr/bin/earlyoom --fg-exe /bench/bin/fgapp --bg-exe /bench/bin/bgapp --log /tmp/earlyoom.log"
    eo_args=""
    for a in $EO_ARGS; do eo_args="$eo_args --earlyoom-arg $a"; done
    sl="--slated /slate/bin/slated --slate /slate/bin/slate --libslate /slate/lib/libslate.so.1"
    for run in $GUEST_RUNS; do
        case $run in
            earlyoom) echo "/bench/memory-run --mode earlyoom --name guest-earlyoom $common $whole $eo $eo_args --earlyoom-arg --avoid --earlyoom-arg ^fgapp\$" ;;
            earlyoom-plain) echo "/bench/memory-run --mode earlyoom --name guest-earlyoom-plain $common $whole $eo $eo_args" ;;
            slated) echo "/bench/memory-run --mode slated --name guest-slated $common $whole $sl --root /device-slated --log /tmp/slated.log" ;;
            kernel) echo "/bench/memory-run --mode kernel --name guest-kernel $common $whole $sl --root /device-kernel --log /tmp/slated-off.log" ;;
            slated-confined) echo "/bench/memory-run --mode slated --name guest-slated-confined $common $confined $sl --root /device-slated-confined --log /tmp/slated-confined.log" ;;
            kernel-confined) echo "/bench/memory-run --mode kernel --name guest-kernel-confined $common $confined $sl --root /device-kernel-confined --log /tmp/slated-off-confined.log" ;;
            # Not a comparison (tests/slated/test-pressure-guest.py): one background app, the foreground one over
            # budget, where memory.high throttles it for good: 15 s of that is enough.
            slated-budget) echo "/bench/memory-run --mode slated --name guest-slated-budget $common --timeout-s 15 --hoards 1 $whole $sl --root /device-slated-budget --log /tmp/slated-budget.log" ;;
            *) die "GUEST_RUNS: no run named $run (earlyoom, earlyoom-plain, slated, kernel, slated-confined, kernel-confined, slated-budget)" ;;
        esac
    done >"$STAGE/bench/runs"

    INITRD=$R/initrd.cpio
    (cd "$STAGE" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet) >"$INITRD"
    say "guest: initramfs $(( $(stat -c %s "$INITRD") / 1024 )) KiB (uncompressed), kernel $KVER; booting (-accel tcg, $GUEST_MIB MiB, $GUEST_SMP CPU)"
    # KVM guests hang at boot on these machines: software emulation, as the issue says.
    start=$(date +%s)
    timeout "$GUEST_TIMEOUT" qemu-system-x86_64 -accel tcg -m "$GUEST_MIB" -smp "$GUEST_SMP" -nographic \
        -no-reboot -monitor none -serial stdio -kernel "$VMLINUZ" -initrd "$INITRD" \
        -append "console=ttyS0 psi=1 panic=-1 quiet loglevel=3" </dev/null 2>&1 | tr -d '\r' |
        tee "$R/guest-console.txt" | { grep --line-buffered -E '^(guest|memory-run)' || true; } | sed 's/^/  /' >&2 ||
        true
    say "guest: finished after $(( $(date +%s) - start )) s"
    grep -q '^guest: done' "$R/guest-console.txt" ||
        { tail -40 "$R/guest-console.txt" >&2; die "the guest did not finish its runs (console above; KEEP=1 keeps it)"; }
    grep '^result ' "$R/guest-console.txt" >>"$RESULTS"
    for run in $GUEST_RUNS; do
        name=guest-$run
        grep -q "^result name=$name " "$RESULTS" ||
            { grep -E "^(app|log|memory-run|guest)" "$R/guest-console.txt" >&2; die "$name gave no result"; }
    done
fi

# ---- the report ----

# A field of a run's result line; "-" when the run did not happen.
get() { awk -v n="$1" -v k="$2" '$1 == "result" && $2 == "name=" n { for (i = 3; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) { print kv[2]; exit } } }' "$RESULTS" | grep . || echo -; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-") print "-"; else if (b + 0 == 0) print (a + 0 == 0 ? "1.00 (both 0)" : "inf"); else printf "%.2f", a / b }'; }

echo
echo "## Memory pressure: slated's manager vs the kernel's OOM killer vs earlyoom"
echo "($(nproc) CPUs, kernel $(uname -r) on the host; load average before the report: $(cut -d' ' -f1-3 /proc/loadavg))"
echo
echo "| run | device; load (MiB) | onset ms | onset to relief ms | grow ms (ideal) | kills (by the manager / by the kernel) | foreground | fg stall full ms (some) | device stall full ms | idle wake-ups: apps in / gone | manager VmRSS KiB: after load / idle (Pss idle) |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
NAMES=()
[ "$HOST" = 1 ] && NAMES+=(host-slated host-kernel)
if [ "$GUEST" = 1 ]; then
    for run in slated kernel slated-confined kernel-confined earlyoom earlyoom-plain; do
        case " $GUEST_RUNS " in *" $run "*) NAMES+=("guest-$run") ;; esac
    done
fi
for n in "${NAMES[@]}"; do
    case $n in
        host-*) dev="cgroup v1, $(get "$n" device_mib) MiB" ;;
        *-confined) dev="QEMU guest, cgroup v2, $(get "$n" device_mib) MiB" ;;
        *) dev="QEMU guest, $(get "$n" device_mib) MiB" ;;
    esac
    case $n in
        *-slated | *-slated-confined) what="slated" ;;
        *-kernel | *-kernel-confined) what="kernel (slated --no-memory-manager)" ;;
        *-earlyoom) what="earlyoom $EO_ARGS --avoid ^fgapp\$" ;;
        *-earlyoom-plain) what="earlyoom $EO_ARGS" ;;
    esac
    ideal=$(( $(get "$n" grow_mib) / 2 * 25 ))
    printf '| %s: %s | %s; 3x%s + %s | %s | %s | %s (%s) | %s (%s / %s) | %s | %s (%s) | %s | %s / %s | %s / %s (%s) |\n' \
        "$n" "$what" "$dev" "$(get "$n" hoard_mib)" "$(get "$n" grow_mib)" "$(get "$n" onset_ms)" "$(get "$n" relief_ms)" \
        "$(get "$n" grow_ms)" "$ideal" "$(get "$n" kills)" "$(get "$n" manager_kills)" \
        "$(( $(get "$n" kills) - $(get "$n" manager_kills) ))" \
        "$(get "$n" fg)" "$(get "$n" fg_full_ms)" "$(get "$n" fg_some_ms)" "$(get "$n" device_full_ms)" \
        "$(get "$n" idle_wakeups)" "$(get "$n" idle_wakeups_empty)" "$(get "$n" rss_after_load_kb)" "$(get "$n" rss_kb)" \
        "$(get "$n" pss_kb)"
done
echo
cat <<EOF
Onset: the first 10 ms sample after the foreground app started in which the device had a memory stall
(PSI some grew) or less than a fifth of it free. Relief: the foreground app's allocation complete (or its
death); grow ms is its whole allocation, against the 25 ms per 2 MiB it asks for. Kills: apps that died,
whoever killed them; in brackets those the manager killed and the rest, the kernel's OOM killer's (the
result lines also carry /proc/vmstat's oom_kill: processes, machine-wide). Stall: PSI of the foreground
app's own cgroup v2 group (on the v1 host, its group in the unified hierarchy, which tracks PSI without
controllers); device stall: PSI full of the device's group (host) or of the machine (guest). Idle: the
manager's context switches in ${IDLE_S} s after the load, with the apps still there and after they were
stopped. VmRSS right after the load and at the end (idle). The guest runs under TCG emulation: its times
are wall time on an emulated CPU, several times slower than the host; compare runs within one part.
EOF
echo
echo "| ratio | value |"
echo "|---|---|"
[ "$HOST" = 1 ] && {
    echo "| host: slated / kernel, fg stall (full) | $(ratio "$(get host-slated fg_full_ms)" "$(get host-kernel fg_full_ms)") |"
    echo "| host: slated / kernel, onset to relief | $(ratio "$(get host-slated relief_ms)" "$(get host-kernel relief_ms)") |"
}
[ "$GUEST" = 1 ] && {
    echo "| guest: slated / earlyoom, fg stall (full) | $(ratio "$(get guest-slated fg_full_ms)" "$(get guest-earlyoom fg_full_ms)") |"
    echo "| guest: slated / earlyoom, onset to relief | $(ratio "$(get guest-slated relief_ms)" "$(get guest-earlyoom relief_ms)") |"
    echo "| guest: slated / kernel, fg stall (full) | $(ratio "$(get guest-slated fg_full_ms)" "$(get guest-kernel fg_full_ms)") |"
    echo "| guest: slated / earlyoom, VmRSS | $(ratio "$(get guest-slated rss_kb)" "$(get guest-earlyoom rss_kb)") |"
    echo "| guest, ${CONFINED_MIB} MiB v2 device: slated / kernel, fg stall (full) | $(ratio "$(get guest-slated-confined fg_full_ms)" "$(get guest-kernel-confined fg_full_ms)") |"
}
echo
echo "What each run's apps ended as, what the manager said (the kills), and when the foreground app stalled"
echo "(ms since it started, PSI full of its group):"
echo
echo '```'
for n in "${NAMES[@]}"; do
    src=$R/$n.out
    [ -f "$src" ] || src=$R/guest-console.txt
    # The lines of this run: its app and log lines come right before its result line.
    awk -v n="$n" '/^(app|log|stall) / { b[++k] = $0; next } /^result / { if ($2 == "name=" n) { for (i = 1; i <= k; i++) print n ": " b[i]; exit } k = 0 }' "$src" |
        { grep -E ': app |killing|sending SIG|memory: (short|relieved)|: stall ' || true; } | head -30
done
echo '```'
echo

# ---- goals ----

SLATED_RUNS=()
for n in "${NAMES[@]}"; do case $n in *-slated | *-slated-confined) SLATED_RUNS+=("$n") ;; esac; done
lost=()
for n in "${NAMES[@]}"; do [ "$(get "$n" fg)" = survived ] || lost+=("$n: $(get "$n" fg)"); done
lost_slated=()
for n in "${SLATED_RUNS[@]}"; do [ "$(get "$n" fg)" = survived ] || lost_slated+=("$n"); done
if [ ${#lost_slated[@]} = 0 ]; then
    echo "goal met: the foreground app survived every slated run (${SLATED_RUNS[*]})"
else
    echo "goal missed: the foreground app did not survive ${lost_slated[*]}"
fi
[ ${#lost[@]} = 0 ] || echo "  (not under slated's manager: ${lost[*]})"
if [ "$GUEST" = 1 ]; then
    s=$(get guest-slated fg_full_ms) e=$(get guest-earlyoom fg_full_ms)
    if [ "$s" = - ] || [ "$e" = - ]; then
        echo "goal not measured: the stall against earlyoom's needs the guest's slated and earlyoom runs"
    elif awk -v s="$s" -v e="$e" 'BEGIN { exit !(s <= e / 2) }'; then
        echo "goal met: slated's foreground stall ${s} ms, at most half of earlyoom's ${e} ms"
    else
        echo "goal missed: slated's foreground stall ${s} ms, more than half of earlyoom's ${e} ms"
    fi
fi
woke=()
for n in "${SLATED_RUNS[@]}"; do
    [ "$(get "$n" idle_wakeups)" = 0 ] && [ "$(get "$n" idle_wakeups_empty)" = 0 ] ||
        woke+=("$n: $(get "$n" idle_wakeups) with the apps in memory, $(get "$n" idle_wakeups_empty) without")
done
if [ ${#woke[@]} = 0 ]; then
    echo "goal met: no wake-ups of slated in ${IDLE_S} s idle"
else
    echo "goal missed: slated woke while idle (in ${IDLE_S} s; ${woke[*]})"
fi
big=()
for n in "${SLATED_RUNS[@]}"; do
    rss=$(get "$n" rss_kb)
    [ "$rss" != - ] && [ "$rss" -lt 2048 ] || big+=("$n: $rss KiB idle, $(get "$n" rss_after_load_kb) KiB after the load")
done
if [ ${#big[@]} = 0 ]; then
    echo "goal met: slated resident under 2 MB when idle in every run"
else
    echo "goal missed: slated resident not under 2 MB (2048 KiB): ${big[*]}"
fi
