#!/usr/bin/env bash
# bench/update.sh: a no-op `slate update` against a repository of 1,000 packages, side by side in
# one hyperfine run with a no-op `apt-get update` (private apt configuration) on an equivalent apt
# repository, both served by the same private nginx on 127.0.0.1; plus the index size per package
# version of each. A benchmark, not a test: it exits non-zero only when something fails, never for
# a missed goal. See bench/README.md.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD_DIR:-$REPO/build-bench}
WORK=${BENCH_DIR:-$BUILD/update-work}
RUNS=${RUNS:-30}
WARMUP=${WARMUP:-3}
NPKG=${NPKG:-1000}
SUBSET=${SUBSET:-50}   # the second device root: only this many packages installed
GOAL_RATIO=2           # the no-op check in at most half of apt's time
NGINX_RUN=$REPO/tests/nginx-run.sh

# shellcheck source=bench/common.sh
. "$REPO/bench/common.sh"

# --- tools ------------------------------------------------------------------------------------
need_tools python3 apt-get xz gzip sha256sum nginx
build_slate
HELLO1=${HELLO1:-$(dirname "$SLATE")/../examples/hello/hello-api1}
HELLO2=${HELLO2:-$(dirname "$SLATE")/../examples/hello/hello-api2}
{ [ -f "$HELLO1" ] && [ -f "$HELLO2" ]; } || die "no app binaries at $HELLO1 / $HELLO2"
SLATE=$(cd "$(dirname "$SLATE")" && pwd)/$(basename "$SLATE")

mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
SERVE=$WORK/serve           # what nginx serves: slate/ and apt/
SREPO=$SERVE/slate
AREPO=$SERVE/apt
NGX=$WORK/nginx

# --- the package set -----------------------------------------------------------------------------
# NPKG ids; every 25th has 3 versions, every other 10th 2, the rest 1 (1,160 versions for 1,000).
# API levels: 40 % of the packages stay on level 1, the rest moved to 2 (their older versions on
# 1, as an app does when it follows the platform). Every 20th package's newest version is flagged
# as a security fix. One line per version: ID VERSION LEVEL SECURITY.
plan() {
    local i n v level ver sec
    for i in $(seq 1 "$NPKG"); do
        n=1
        if [ $((i % 25)) = 0 ]; then n=3; elif [ $((i % 10)) = 0 ]; then n=2; fi
        for v in $(seq 1 "$n"); do
            if [ $((i % 5)) -lt 2 ]; then level=1; elif [ "$v" = "$n" ]; then level=2; else level=1; fi
            case $v in 1) ver=1.0.0 ;; 2) ver=1.1.0 ;; 3) ver=2.0.0 ;; esac
            sec=-; if [ "$v" = "$n" ] && [ $((i % 20)) = 0 ]; then sec=s; fi
            printf 'org.bench.app%04d %s %s %s\n' "$i" "$ver" "$level" "$sec"
        done
    done
}

# --- the Slate repository (cached: packing 1,160 packages takes a few seconds to a minute) -------
STAMP="$(sed -n '/^# --- the package set/,/^# --- the device roots/p' "$0" | sha256sum | cut -c1-16) n=$NPKG"
STAMP="$STAMP h1=$(sha256sum <"$HELLO1" | cut -c1-16) h2=$(sha256sum <"$HELLO2" | cut -c1-16)"
SAMPLE=$WORK/slp/org.bench.app0001-1.0.0.slp
fresh=
# The cache is used when its stamp matches and this slate still accepts its packages (the format
# may have changed since); REGEN=1 forces a new one.
if [ -z "${REGEN:-}" ] && [ "$(cat "$WORK/repo.stamp" 2>/dev/null)" = "$STAMP" ] && [ -f "$SREPO/catalog" ] &&
    "$SLATE" --root "$WORK/root-part" verify "$SAMPLE" >/dev/null 2>&1; then
    say "using the cached repository in $SREPO"
else
    fresh=1
    say "packing $NPKG packages into $WORK/slp"
    rm -rf "$WORK/slp" "$WORK/src" "$SERVE" "$WORK"/root-* "$WORK/repo.stamp" "$WORK"/roots.stamp
    mkdir -p "$WORK/slp" "$WORK/src1/files/bin" "$WORK/src2/files/bin" "$SREPO"
    install -m 0755 "$HELLO1" "$WORK/src1/files/bin/hello"
    install -m 0755 "$HELLO2" "$WORK/src2/files/bin/hello"
    [ -f "$WORK/publisher.key" ] || "$SLATE" keygen "$WORK/publisher" >/dev/null
    plan >"$WORK/plan.txt"
    while read -r id ver level sec; do
        cat >"$WORK/src$level/manifest" <<EOF
[package]
id = $id
version = $ver
api_level = $level
class = app

[app]
exec = bin/hello
label = Bench ${id#org.bench.}
EOF
        "$SLATE" pack "$WORK/src$level" --key "$WORK/publisher.key" -o "$WORK/slp/$id-$ver.slp" >/dev/null
    done <"$WORK/plan.txt"
    say "publishing: slate repo add, slate repo sign"
    awk '$4 == "-" {print $1 "-" $2 ".slp"}' "$WORK/plan.txt" | (cd "$WORK/slp" && xargs "$SLATE" repo add "$SREPO") >/dev/null
    awk '$4 == "s" {print $1 "-" $2 ".slp"}' "$WORK/plan.txt" |
        (cd "$WORK/slp" && xargs "$SLATE" repo add "$SREPO" --security) >/dev/null
    echo "$STAMP" >"$WORK/repo.stamp"
fi
# Signed every run (cheap), so the index is always this slate's format and never expires.
"$SLATE" repo sign "$SREPO" --key "$WORK/publisher.key" --expires 30 | tee "$WORK/sign.txt" >&2
NVERSIONS=$(wc -l <"$WORK/plan.txt")
[ "$(grep -c '^p ' "$SREPO/catalog")" = "$NVERSIONS" ] || die "the catalog does not list $NVERSIONS versions"

# --- the apt repository: the same ids, versions and sizes, as Debian's archive would list them --
# dists/bench/main/binary-amd64/Packages{,.xz,.gz} and an unsigned Release ([trusted=yes]).
python3 - "$SREPO/catalog" "$AREPO" "$(stat -c %s "$HELLO1")" <<'PY'
import gzip, hashlib, lzma, os, sys, time
catalog, out, binsize = sys.argv[1], sys.argv[2], int(sys.argv[3])
entries = []
for line in open(catalog):
    f = line.split()
    if f and f[0] == "p":  # p ID VERSION LEVEL CLASS SIZE HASH FLAGS
        entries.append((f[1], f[2], int(f[3]), int(f[5])))
def h(kind, *parts):
    return hashlib.new(kind, "/".join(map(str, parts)).encode()).hexdigest()
blocks = []
for pid, ver, level, size in entries:
    name = pid  # lower case, digits and dots: a valid Debian package name as it is
    short = pid.rsplit(".", 1)[1]
    desc = f"Bench {short}: an example application"
    blocks.append(
        f"Package: {name}\n"
        f"Version: {ver}\n"
        f"Installed-Size: {(binsize + 1023) // 1024 + 4}\n"
        f"Maintainer: Slate Bench <bench@example.org>\n"
        f"Architecture: amd64\n"
        f"Depends: libc6 (>= 2.34), libslate{level} (>= {level})\n"
        f"Description: {desc}\n"
        f"Description-md5: {h('md5', desc)}\n"
        f"Section: misc\n"
        f"Priority: optional\n"
        f"Filename: pool/main/{short[0]}/{name}/{name}_{ver}_amd64.deb\n"
        f"Size: {size}\n"
        f"MD5sum: {h('md5', pid, ver, 'deb')}\n"
        f"SHA256: {h('sha256', pid, ver, 'deb')}\n")
packages = "\n".join(blocks).encode()
d = os.path.join(out, "dists/bench/main/binary-amd64")
os.makedirs(d, exist_ok=True)
files = {
    "main/binary-amd64/Packages": packages,
    "main/binary-amd64/Packages.xz": lzma.compress(packages, preset=6),  # what Debian's archive ships
    "main/binary-amd64/Packages.gz": gzip.compress(packages, 9, mtime=0),
}
for rel, data in files.items():
    with open(os.path.join(out, "dists/bench", rel), "wb") as fh:
        fh.write(data)
date = time.strftime("%a, %d %b %Y %H:%M:%S UTC", time.gmtime())
release = (f"Origin: Slate Bench\nLabel: Slate Bench\nSuite: bench\nCodename: bench\nDate: {date}\n"
           "Architectures: amd64\nComponents: main\nDescription: the bench repository of bench/update.sh\n"
           "MD5Sum:\n" + "".join(f" {hashlib.md5(v).hexdigest()} {len(v):>16} {k}\n" for k, v in files.items()) +
           "SHA256:\n" + "".join(f" {hashlib.sha256(v).hexdigest()} {len(v):>16} {k}\n" for k, v in files.items()))
with open(os.path.join(out, "dists/bench/Release"), "w") as fh:
    fh.write(release)
PY
APT_ENTRIES=$(grep -c '^Package: ' "$AREPO/dists/bench/main/binary-amd64/Packages")
[ "$APT_ENTRIES" = "$NVERSIONS" ] || die "apt's Packages lists $APT_ENTRIES entries, not $NVERSIONS"

# --- the device roots (cached with the repository) -------------------------------------------------
# FULL: API levels 1..2, the newest version of every package installed (a true no-op update).
# PART: the same platform with only the first SUBSET packages installed, at their newest.
newest() { awk '{n[$1] = $2} END {for (i in n) print i "-" n[i] ".slp"}' "$WORK/plan.txt" | LC_ALL=C sort; }
make_root() { # DIR COUNT
    local dir=$1 count=$2
    rm -rf "$dir"
    "$SLATE" --root "$dir" init --api-level 2 --min-api-level 1 >/dev/null
    "$SLATE" --root "$dir" trust "$WORK/publisher.pub" >/dev/null
    newest >"$WORK/newest.txt"
    head -n "$count" "$WORK/newest.txt" | while read -r f; do
        "$SLATE" --root "$dir" install "$WORK/slp/$f" >/dev/null
    done
}
if [ -n "$fresh" ] || [ "$(cat "$WORK/roots.stamp" 2>/dev/null)" != "$STAMP" ] ||
    ! "$SLATE" --root "$WORK/root-full" list >/dev/null 2>&1; then
    say "installing $NPKG packages into $WORK/root-full (and $SUBSET into root-part)"
    t0=$(date +%s.%N)
    make_root "$WORK/root-full" "$NPKG"
    t1=$(date +%s.%N)
    make_root "$WORK/root-part" "$SUBSET"
    echo "$STAMP" >"$WORK/roots.stamp"
    say "$(awk -v a="$t0" -v b="$t1" -v n="$NPKG" 'BEGIN {printf "%d installs in %.1f s (%.1f ms each)", n, b - a, (b - a) * 1000 / n}')"
fi
[ "$("$SLATE" --root "$WORK/root-full" list | tail -n +2 | wc -l)" = "$NPKG" ] || die "root-full lacks packages"

# --- nginx on loopback ---------------------------------------------------------------------------
"$NGINX_RUN" stop "$NGX" 2>/dev/null || true
PORT=$("$NGINX_RUN" start "$SERVE" "$NGX") || die "cannot start nginx (tests/nginx-run.sh)"
trap '"$NGINX_RUN" stop "$NGX"' EXIT
URL=http://127.0.0.1:$PORT
say "nginx on $URL serving $SERVE"

# --- private apt configuration: nothing of the machine's apt state is read or written ------------
APTD=$WORK/apt-state
rm -rf "$APTD"
mkdir -p "$APTD/etc/apt.conf.d" "$APTD/etc/preferences.d" "$APTD/etc/sources.list.d" "$APTD/state/lists/partial" \
    "$APTD/cache/archives/partial"
: >"$APTD/status"
echo "deb [trusted=yes] $URL/apt bench main" >"$APTD/etc/sources.list"
# APT_CONFIG is read before anything else, so pointing Dir::Etc's parts and main file here keeps the
# machine's /etc/apt/apt.conf.d (update hooks, extra index targets, docker tweaks) out: this is
# apt as a stock Debian configures it. -o options would come too late for Dir::Etc::Parts.
cat >"$APTD/apt.conf" <<EOF
Dir::Etc "$APTD/etc";
Dir::Etc::Main "apt.conf";
Dir::Etc::Parts "apt.conf.d";
Dir::Etc::SourceList "sources.list";
Dir::Etc::SourceParts "sources.list.d";
Dir::Etc::Preferences "preferences";
Dir::Etc::PreferencesParts "preferences.d";
Dir::State "$APTD/state";
Dir::State::status "$APTD/status";
Dir::Cache "$APTD/cache";
Debug::NoLocking "true";
APT::Architecture "amd64";
APT::Architectures { "amd64"; };
Acquire::Languages "none";
APT::Sandbox::User "root";
EOF
APT=(env APT_CONFIG="$APTD/apt.conf" apt-get -q)
apt_fingerprint() {
    { find /var/lib/apt/lists /var/cache/apt -maxdepth 2 -printf '%p %s %T@\n' 2>/dev/null | LC_ALL=C sort; } |
        sha256sum | cut -c1-16
}
APT_BEFORE=$(apt_fingerprint)

# --- check, untimed: each command works and is a no-op -------------------------------------------
say "checking: first apt-get update (downloads), then a second one (no-op)"
"${APT[@]}" update >"$WORK/apt-first.txt" 2>&1 || { cat "$WORK/apt-first.txt" >&2; die "apt-get update failed"; }
grep -q "Get:.*bench/main amd64 Packages" "$WORK/apt-first.txt" ||
    { cat "$WORK/apt-first.txt" >&2; die "apt did not download the Packages index"; }
"${APT[@]}" update >"$WORK/apt-noop.txt" 2>&1
if ! grep -q '^Hit:' "$WORK/apt-noop.txt" || grep -q '^Get:' "$WORK/apt-noop.txt"; then
    cat "$WORK/apt-noop.txt" >&2
    die "apt's second update was not a no-op"
fi
shown=$(APT_CONFIG="$APTD/apt.conf" apt-cache show org.bench.app0001 2>&1) || true # (no grep -q: SIGPIPE)
grep -q '^Version: 1.0.0' <<<"$shown" || die "apt does not know org.bench.app0001 after the update: $shown"
[ "$(APT_CONFIG="$APTD/apt.conf" apt-cache show org.bench.app0025 | grep -c '^Package: ')" = 3 ] ||
    die "apt does not list the 3 versions of org.bench.app0025"

for r in full part; do
    "$SLATE" --root "$WORK/root-$r" update --repo "$URL/slate" >"$WORK/slate-$r.txt" 2>&1 ||
        { cat "$WORK/slate-$r.txt" >&2; die "slate update failed on root-$r"; }
    grep -q '^nothing to update$' "$WORK/slate-$r.txt" || { cat "$WORK/slate-$r.txt" >&2; die "not a no-op on root-$r"; }
done
grep -q "^$NPKG packages up to date$" "$WORK/slate-full.txt" || die "root-full: not $NPKG packages up to date"
grep -q "$NVERSIONS versions" "$WORK/slate-full.txt" || die "the index does not list $NVERSIONS versions"

# --- timing -------------------------------------------------------------------------------------
printf -v APTCMD '%q ' "${APT[@]}" update
SL="$SLATE --root"
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
say "timing: $RUNS runs + $WARMUP warm-up each (load average $LOAD)"
hyperfine --style basic --runs "$RUNS" --warmup "$WARMUP" --export-json "$WORK/results.json" \
    -n "apt-get update (no-op, $NVERSIONS entries)" "$APTCMD" \
    -n "slate update (no-op, $NPKG installed)" "$SL $WORK/root-full update --repo $URL/slate" \
    -n "slate update (no-op, $SUBSET installed)" "$SL $WORK/root-part update --repo $URL/slate" \
    -n "slate update --dry-run ($NPKG installed)" "$SL $WORK/root-full update --repo $URL/slate --dry-run" |
    tee "$WORK/hyperfine.txt" >&2

APT_AFTER=$(apt_fingerprint)
[ "$APT_BEFORE" = "$APT_AFTER" ] || die "the machine's /var/lib/apt/lists or /var/cache/apt changed during the run"

# --- summary ------------------------------------------------------------------------------------
SLATE_INDEX=$(stat -c %s "$SREPO/index")
PXZ=$(stat -c %s "$AREPO/dists/bench/main/binary-amd64/Packages.xz")
PGZ=$(stat -c %s "$AREPO/dists/bench/main/binary-amd64/Packages.gz")
PRAW=$(stat -c %s "$AREPO/dists/bench/main/binary-amd64/Packages")
SBODY=$(stat -c %s "$SREPO/catalog")
python3 - "$WORK/results.json" "$NVERSIONS" "$SLATE_INDEX" "$SBODY" "$PXZ" "$PGZ" "$PRAW" "$GOAL_RATIO" <<'PY'
import json, sys
res, nv, sidx, sbody, pxz, pgz, praw, goal = sys.argv[1], *map(int, sys.argv[2:8]), float(sys.argv[8])
r = json.load(open(res))["results"]
apt = r[0]["mean"]
print()
print("| command | mean ms | stddev | min ms | apt / this |")
print("|---|---|---|---|---|")
for x in r:
    ratio = "" if x is r[0] else f"{apt / x['mean']:.2f}x"
    print(f"| {x['command']} | {x['mean'] * 1e3:.1f} | {x['stddev'] * 1e3:.1f} | {x['min'] * 1e3:.1f} | {ratio} |")
print()
print(f"| index ({nv} versions) | bytes | bytes per version |")
print("|---|---|---|")
print(f"| Slate `index` (signed, zstd) | {sidx} | {sidx / nv:.1f} |")
print(f"| Slate index body, uncompressed (`catalog`) | {sbody} | {sbody / nv:.1f} |")
print(f"| apt `Packages.xz` (unsigned; Release not counted) | {pxz} | {pxz / nv:.1f} |")
print(f"| apt `Packages.gz` | {pgz} | {pgz / nv:.1f} |")
print(f"| apt `Packages`, uncompressed | {praw} | {praw / nv:.1f} |")
print()
full = r[1]["mean"]
print(f"goal {'met' if apt / full >= goal else 'missed'}: no-op update ({r[1]['command']}) {full * 1e3:.1f} ms vs apt "
      f"{apt * 1e3:.1f} ms: {full / apt * 100:.0f} % of apt's time (goal: at most {100 / goal:.0f} %)")
best = min(pxz, pgz)
print(f"goal {'met' if sidx <= best else 'missed'}: signed index {sidx / nv:.1f} bytes per version vs apt's "
      f"compressed {best / nv:.1f} (goal: no larger)")
PY
printf '\nraw data: %s/results.json, %s/hyperfine.txt; machine apt state unchanged (%s)\n' "$WORK" "$WORK" "$APT_AFTER"
