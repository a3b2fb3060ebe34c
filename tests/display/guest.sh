#!/usr/bin/env bash
# tests/display/guest.sh: the drm and fbdev backends and evdev input on a real kernel's drivers, in a QEMU
# guest: Debian's kernel (which has no vkms) with QEMU's standard VGA, driven by the bochs DRM driver (its
# fbdev emulation is /dev/fb0), and evdev and uinput for a virtual touchscreen and keyboard. The guest runs
# tests/display/test-display with SLATE_TEST_DRM=/dev/dri/card0 and SLATE_TEST_FBDEV=/dev/fb0: modesetting,
# the app's frames read back from the scanned-out buffer and the framebuffer, a touch on its button, a
# keyboard plugged in while slated runs, Escape as Back.
#
#   tests/display/guest.sh [--no-install] [BUILD_DIR]   # default: build; needs the tests built there
#
# Needs root and, from Debian, qemu-system-x86 and cpio (installed when missing, unless --no-install: then
# skipped, as meson test runs it); the kernel package is
# downloaded once with apt-get download into BUILD_DIR/display-guest/cache and unpacked there, never
# installed. Software emulation (-accel tcg: a KVM guest hangs at boot on these machines). Exit status:
# the test's (0 passed, 77 skipped: no QEMU or no kernel package to be had), 1 when the guest broke.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
INSTALL=1
if [ "${1:-}" = --no-install ]; then INSTALL=0; shift; fi
BUILD=$(cd "${1:-$REPO/build}" && pwd)
WORK=$BUILD/display-guest
TIMEOUT=${GUEST_TIMEOUT:-300}
say() { echo "display-guest: $*" >&2; }
skip() { say "skipped: $*"; exit 77; }

[ "$(id -u)" = 0 ] || skip "needs root (slated's sandboxes, the initramfs's device nodes)"
for f in cli/slate system/slated system/slate-sandbox tests/ui/tapapp tests/display/test-display; do
    [ -x "$BUILD/$f" ] || { say "missing $BUILD/$f (build the tests first)"; exit 1; }
done
missing=()
for p in qemu-system-x86 cpio; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' || missing+=("$p")
done
[ ${#missing[@]} = 0 ] || [ "$INSTALL" = 1 ] || skip "${missing[*]} not installed (Debian's packages)"
if [ ${#missing[@]} != 0 ]; then
    say "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
        { apt-get update >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1; } ||
        skip "cannot install ${missing[*]}"
fi

# ---- the kernel: Debian's, its image and the few modules the guest loads ----

MODULES="drivers/gpu/drm/drm.ko drivers/gpu/drm/drm_kms_helper.ko drivers/gpu/drm/ttm/ttm.ko
drivers/gpu/drm/drm_ttm_helper.ko drivers/gpu/drm/drm_vram_helper.ko drivers/gpu/drm/tiny/bochs.ko
drivers/input/evdev.ko drivers/input/misc/uinput.ko"
KPKG=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ && !f { print $2; f = 1 }')
[ -n "$KPKG" ] || skip "apt-cache knows no linux-image-amd64 (apt-get update?)"
KVER=${KPKG#linux-image-}
KDIR=$WORK/cache/$KVER
if [ ! -f "$KDIR/vmlinuz" ]; then
    say "downloading $KPKG (Debian's kernel; unpacked here, not installed)"
    rm -rf "$KDIR" "$WORK/cache/deb"
    mkdir -p "$WORK/cache/deb" "$KDIR"
    (cd "$WORK/cache/deb" && apt-get download -q "$KPKG" >/dev/null 2>&1) || true
    deb=$(ls "$WORK/cache/deb/${KPKG}_"*.deb 2>/dev/null | head -1)
    [ -n "$deb" ] || skip "apt-get download $KPKG failed"
    members=("./boot/vmlinuz-$KVER")
    for m in $MODULES; do members+=("./lib/modules/$KVER/kernel/$m"); done
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$KDIR" "${members[@]}"
    mv "$KDIR/boot/vmlinuz-$KVER" "$KDIR/vmlinuz"
    rm -rf "$WORK/cache/deb"
fi

# ---- the initramfs: the same paths as here, only what the test needs ----

STAGE=$WORK/root
rm -rf "$STAGE"
mkdir -p "$STAGE"/{proc,sys,dev,tmp,run,etc,guest,usr/bin,usr/lib,usr/sbin}
chmod 1777 "$STAGE/tmp"
for d in bin sbin lib lib64; do
    if [ -L "/$d" ]; then cp -P "/$d" "$STAGE/$d" && mkdir -p "$STAGE/$(readlink -f "/$d")"; else mkdir -p "$STAGE/$d"; fi
done
# One file and, when it is a symbolic link, what it points to, under the same paths.
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
libs_of() { ldd "$1" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' || true; }

cc -static -O2 -o "$WORK/guest-init" "$REPO/tests/display/guest-init.c"
cp "$WORK/guest-init" "$STAGE/init"
BINS=("$BUILD/cli/slate" "$BUILD/system/slated" "$BUILD/system/slate-sandbox" "$BUILD/tests/ui/tapapp"
      "$BUILD/tests/display/test-display")
for f in "${BINS[@]}" "$BUILD"/lib/libslate.so "$BUILD"/lib/libslate.so.[0-9]*; do [ -d "$f" ] || stage_file "$f"; done
# Libraries: what each binary needs, what slate, slated and libslate open on first use (their sonames,
# less SDL's and microhttpd's: the guest tests the device backends), each with what it needs in turn.
{
    for f in "${BINS[@]}" "$BUILD"/lib/libslate.so.1; do libs_of "$f"; done
    strings -a "$BUILD/system/slated" "$BUILD/cli/slate" "$BUILD"/lib/libslate.so.1 |
        { grep -E '^lib[A-Za-z0-9_+.-]+\.so(\.[0-9]+)*$' || true; } | sort -u |
        { grep -v -E '^lib(slate|SDL2|microhttpd|curl|wayland)' || true; } | while read -r soname; do
            lib=$(ldconfig -p | awk -v n="$soname" '$1 == n && /x86-64/ && !f { print $NF; f = 1 }')
            if [ -n "$lib" ]; then echo "$lib"; libs_of "$lib"; fi
        done
} | sort -u | while read -r lib; do stage_file "$lib"; done
# A sanitizer build's runtime, which apps (never instrumented) need loaded first (tests/meson.build).
IFS=: read -r -a preload <<<"${SLATE_APP_PRELOAD:-}"
for f in "${preload[@]}"; do
    [ -n "$f" ] || continue
    stage_file "$f"
    libs_of "$f" | while read -r lib; do stage_file "$lib"; done
done
# The fonts and word list the toolkit reads (lib/ui/text.c's one list).
grep -oE '"/usr/share/[^"]+"|NOTO "[^"]+"' "$REPO/lib/ui/text.c" | sed -e 's/^NOTO "/\/usr\/share\/fonts\/truetype\/noto\//' -e 's/"//g' |
    while read -r f; do [ -e "$f" ] && stage_file "$f"; done
mkdir -p "$STAGE/guest/ko"
for m in $MODULES; do
    cp "$KDIR/lib/modules/$KVER/kernel/$m" "$STAGE/guest/ko/"
    echo "/guest/ko/$(basename "$m")"
done >"$STAGE/guest/modules"
cat >"$STAGE/guest/env" <<EOF
PATH=/usr/bin:/bin:/usr/sbin:/sbin
HOME=/
TMPDIR=/tmp
SLATE_BIN=$BUILD/cli/slate
LD_LIBRARY_PATH=$BUILD/lib
SLATE_APP_PRELOAD=${SLATE_APP_PRELOAD:-}
CMOCKA_MESSAGE_OUTPUT=stdout
SLATE_TEST_DRM=/dev/dri/card0
SLATE_TEST_FBDEV=/dev/fb0
SLATE_TEST_DEVICES_ONLY=1
SLATE_TEST_SLOW=4
ASAN_OPTIONS=${ASAN_OPTIONS:-}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-}
EOF
echo "$BUILD/tests/display/test-display $BUILD/system/slated $BUILD/tests/ui/tapapp" >"$STAGE/guest/run"
INITRD=$WORK/initrd.cpio
(cd "$STAGE" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet) >"$INITRD"

# ---- the run ----

say "booting Linux $KVER with QEMU's standard VGA (initramfs $(( $(stat -c %s "$INITRD") / 1024 )) KiB, -accel tcg)"
start=$(date +%s)
timeout "$TIMEOUT" qemu-system-x86_64 -accel tcg -m 1024 -smp 1 -vga std -display none -nographic \
    -no-reboot -monitor none -serial stdio -kernel "$KDIR/vmlinuz" -initrd "$INITRD" \
    -append "console=ttyS0 panic=-1 quiet loglevel=3" </dev/null 2>&1 | tr -d '\r' >"$WORK/console.txt" || true
say "the guest ran $(( $(date +%s) - start )) s"
# What the test printed (the firmware's and the kernel's lines before it are in console.txt).
sed -n '/guest: up/,/^guest: exit/p' "$WORK/console.txt" | sed 's/^.*guest: up/guest: up/' >&2
status=$(sed -n 's/^guest: exit \([0-9]*\)$/\1/p' "$WORK/console.txt" | tail -1)
[ -n "$status" ] || { say "the guest did not finish (console: $WORK/console.txt)"; exit 1; }
exit "$status"
