# bench/common.sh: what the benchmarks share: messages, hyperfine, and a release build of slate.
# Sourced, not run. Expects REPO and BUILD to be set.

say() { printf '== %s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

# hyperfine from Debian when missing (as root), then every other tool named.
need_tools() {
    if ! command -v hyperfine >/dev/null; then
        [ "$(id -u)" = 0 ] || die "hyperfine is missing (apt-get install hyperfine)"
        say "installing hyperfine"
        DEBIAN_FRONTEND=noninteractive apt-get install -y hyperfine >/dev/null ||
            { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y hyperfine >/dev/null; }
    fi
    local t
    for t in hyperfine "$@"; do
        command -v "$t" >/dev/null || die "$t is missing"
    done
}

# $SLATE as given, else our own release build in $BUILD (never the shared build/).
build_slate() {
    if [ -z "${SLATE:-}" ]; then
        if [ ! -f "$BUILD/build.ninja" ]; then
            say "configuring $BUILD (release)"
            meson setup "$BUILD" "$REPO" --buildtype=release >/dev/null
        fi
        say "building $BUILD"
        ninja -C "$BUILD" -j2 >/dev/null
        SLATE=$BUILD/cli/slate
    fi
    [ -x "$SLATE" ] || die "no slate binary at $SLATE"
}
