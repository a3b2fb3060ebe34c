#!/usr/bin/env bash
# demo.sh: the platform contract at work, run by `make run`: two devices at different API
# levels, one signed app built for each level, the installer's gating between them, and
# updates from one repository that follow each device's platform.
set -euo pipefail

build=${1:-build}
slate="$build/cli/slate"
demo="$build/demo"
libdir="$(cd "$build/lib" && pwd)"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }
# A refusal is the point of these steps: show it, and fail the demo if it does not happen.
refused() {
    printf '$ %s\n' "$*"
    if "$@"; then echo "demo: expected a refusal" >&2; exit 1; fi
}
app_source() { # DIR VERSION LEVEL
    mkdir -p "$1/files/bin"
    cp "$build/examples/hello/hello-api$3" "$1/files/bin/hello"
    cat >"$1/manifest" <<MANIFEST
[package]
id = org.example.hello
version = $2
api_level = $3        # the one API level this version is built for
class = app

[app]
exec = bin/hello
label = Hello
memory = 32M
MANIFEST
}

rm -rf "$demo"
mkdir -p "$demo"

step "Two devices: an older phone (API level 1) and a newer one that dropped level 1"
show "$slate" --root "$demo/old-phone" init --api-level 1 --min-api-level 1 --release 2026.05
show "$slate" --root "$demo/new-phone" init --api-level 2 --min-api-level 2 --release 2026.11

step "A publisher key, trusted by both devices"
show "$slate" keygen "$demo/publisher"
show "$slate" --root "$demo/old-phone" trust "$demo/publisher.pub"
show "$slate" --root "$demo/new-phone" trust "$demo/publisher.pub"

step "Hello 1.0.0 built for API level 1, and Hello 2.0.0 built for level 2, packed and signed"
app_source "$demo/hello-1" 1.0.0 1
app_source "$demo/hello-2" 2.0.0 2
show "$slate" pack "$demo/hello-1" --key "$demo/publisher.key" -o "$demo/hello-1.0.0.slp"
show "$slate" pack "$demo/hello-2" --key "$demo/publisher.key" -o "$demo/hello-2.0.0.slp"
show "$slate" --root "$demo/new-phone" verify "$demo/hello-2.0.0.slp"
show "$slate" --root "$demo/new-phone" audit "$demo/hello-2.0.0.slp"

step "Each device installs only what its platform supports"
show "$slate" --root "$demo/old-phone" install "$demo/hello-1.0.0.slp"
refused "$slate" --root "$demo/old-phone" install "$demo/hello-2.0.0.slp"
refused "$slate" --root "$demo/new-phone" install "$demo/hello-1.0.0.slp"
show "$slate" --root "$demo/new-phone" install "$demo/hello-2.0.0.slp"

step "What is installed, and the apps running against their device's platform"
show "$slate" --root "$demo/old-phone" list
show "$slate" --root "$demo/new-phone" info org.example.hello
for phone in old-phone new-phone; do
    version=$("$slate" --root "$demo/$phone" list --json | sed -n 's/.*"version": "\([^"]*\)".*/\1/p')
    printf '$ (%s) hello\n' "$phone"
    SLATE_ROOT="$demo/$phone" LD_LIBRARY_PATH="$libdir" \
        "$demo/$phone/var/lib/slate/apps/org.example.hello/$version/bin/hello"
done

step "Updates follow the OS: one repository, and each phone takes the newest version it supports"
app_source "$demo/hello-1.1" 1.1.0 1
app_source "$demo/hello-2.1" 2.1.0 2
show "$slate" pack "$demo/hello-1.1" --key "$demo/publisher.key" -o "$demo/hello-1.1.0.slp"
show "$slate" pack "$demo/hello-2.1" --key "$demo/publisher.key" -o "$demo/hello-2.1.0.slp"
show "$slate" repo add "$demo/repo" "$demo/hello-1.1.0.slp" "$demo/hello-2.1.0.slp"
show "$slate" keygen "$demo/vendor"
show "$slate" repo sign "$demo/repo" --key "$demo/vendor.key" --expires 30
show "$slate" --root "$demo/old-phone" trust --system "$demo/vendor.pub"
show "$slate" --root "$demo/new-phone" trust --system "$demo/vendor.pub"
show "$slate" --root "$demo/old-phone" update --repo "$demo/repo"
show "$slate" --root "$demo/new-phone" update --repo "$demo/repo"

step "An OS update that drops level 1 retires what was built for it, until a supported version comes"
show "$slate" --root "$demo/old-phone" platform upgrade --api-level 2 --min-api-level 2 --release 2027.01
show "$slate" --root "$demo/old-phone" list
show "$slate" --root "$demo/old-phone" update --repo "$demo/repo"
show "$slate" --root "$demo/old-phone" list

step "Packages nobody trusts are refused"
show "$slate" keygen "$demo/stranger"
show "$slate" pack "$demo/hello-1" --key "$demo/stranger.key" -o "$demo/stranger.slp"
refused "$slate" --root "$demo/old-phone" install "$demo/stranger.slp"

step "slated runs apps: a phone at API level 3 starts the clock, sandboxed, with its time service on demand"
if [ "$(id -u)" != 0 ]; then
    echo "(skipped: slated's sandboxes and cgroups need root; run make run as root to see this part)"
else
    show "$slate" --root "$demo/phone" init --api-level 3 --min-api-level 1 --release 2027.03
    show "$slate" --root "$demo/phone" trust "$demo/publisher.pub"
    mkdir -p "$demo/clock/files/bin"
    cp examples/clock/manifest "$demo/clock/manifest"
    cp "$build/examples/clock/clock" "$build/examples/clock/time-service" "$demo/clock/files/bin/"
    show "$slate" pack "$demo/clock" --key "$demo/publisher.key" -o "$demo/clock.slp"
    show "$slate" --root "$demo/phone" install "$demo/clock.slp"
    show "$slate" --root "$demo/phone" install "$demo/hello-2.1.0.slp"
    # slated says it is ready by writing a newline on the fd it is given (s6 style).
    printf '$ %s --root %s --freeze-delay 1000 &\n' "$build/system/slated" "$demo/phone"
    exec 3< <("$build/system/slated" --root "$demo/phone" --ready-fd 4 --freeze-delay 1000 \
        4>&1 >"$demo/slated.log" 2>&1)
    slated_pid=$!
    trap 'kill -TERM $slated_pid 2>/dev/null || true' EXIT
    read -r -t 10 <&3 || { cat "$demo/slated.log"; echo "demo: slated did not start" >&2; exit 1; }
    show "$slate" --root "$demo/phone" start org.example.clock
    sleep 3.2
    show "$slate" --root "$demo/phone" ps
    show "$slate" --root "$demo/phone" logs org.example.clock
    step "Another app comes to the foreground and ends: the clock pauses, then resumes where it was"
    show "$slate" --root "$demo/phone" start org.example.hello
    sleep 0.5
    show "$slate" --root "$demo/phone" logs org.example.hello
    sleep 1.2
    show "$slate" --root "$demo/phone" ps
    show "$slate" --root "$demo/phone" stop org.example.clock
    show "$slate" --root "$demo/phone" logs org.example.clock
    step "SIGTERM: slated stops what runs, in order, and leaves nothing behind"
    kill -TERM "$slated_pid"
    wait "$slated_pid" || true
    trap - EXIT
    tail -n 4 "$demo/slated.log"

    step "The platform moves to API level 4 (the UI toolkit): the phone shows the widget gallery on its screen"
    show "$slate" --root "$demo/phone" platform upgrade --api-level 4 --min-api-level 1 --release 2027.09
    mkdir -p "$demo/gallery/files/bin" "$demo/gallery/files/share/pictures"
    cp examples/gallery/manifest "$demo/gallery/manifest"
    cp "$build/examples/gallery/gallery" "$demo/gallery/files/bin/"
    cp "$build/examples/gallery/"{hills.jpg,sunset.webp,tiles.png} "$demo/gallery/files/share/pictures/"
    show "$slate" pack "$demo/gallery" --key "$demo/publisher.key" -o "$demo/gallery.slp"
    show "$slate" --root "$demo/phone" install "$demo/gallery.slp"
    port=${SLATE_WEB_PORT:-8080}
    printf '$ %s --root %s --display web:%s &\n' "$build/system/slated" "$demo/phone" "$port"
    exec 3< <("$build/system/slated" --root "$demo/phone" --ready-fd 4 --display "web:$port" \
        4>&1 >"$demo/slated.log" 2>&1)
    slated_pid=$!
    trap 'kill -TERM $slated_pid 2>/dev/null || true' EXIT
    read -r -t 10 <&3 || { cat "$demo/slated.log"; echo "demo: slated did not start (is port $port free? SLATE_WEB_PORT picks another)" >&2; exit 1; }
    show "$slate" --root "$demo/phone" start org.slate.gallery
    sleep 1
    show "$slate" --root "$demo/phone" shot "$demo/screen.png"
    printf '\n\033[1mThe phone'"'"'s screen: http://127.0.0.1:%s/\033[0m  (a screenshot is in %s/screen.png)\n' "$port" "$demo"
    printf 'Tap, drag and type there; or drive it from here: %s --root %s tap X Y | swipe X1 Y1 X2 Y2 | key Back | theme dark\n' \
        "$slate" "$demo/phone"
    if [ -t 0 ]; then
        echo "Ctrl-C stops the device."
        trap 'kill -TERM $slated_pid 2>/dev/null || true; wait $slated_pid || true; echo; exit 0' INT
        wait "$slated_pid" || true
    fi
    kill -TERM "$slated_pid" 2>/dev/null || true
    wait "$slated_pid" || true
    trap - EXIT
fi

printf '\nThe demo devices are in %s; try: %s --root %s/old-phone list\n' "$demo" "$slate" "$demo"
