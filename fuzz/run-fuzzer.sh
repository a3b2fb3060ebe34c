#!/bin/sh
# run-fuzzer.sh: one time-boxed libFuzzer run over a scratch copy of the seeds; fails on a crash, leak, timeout or OOM.
# usage: run-fuzzer.sh FUZZER SCRATCH SECONDS MAX_LEN SEED_DIR...
# Everything it writes (corpus, crash artifacts, temporary files) stays under SCRATCH.
set -eu

fuzzer=$1 scratch=$2 seconds=$3 max_len=$4
shift 4

rm -rf "$scratch"
mkdir -p "$scratch/corpus" "$scratch/artifacts" "$scratch/tmp"
for dir in "$@"; do
    [ -d "$dir" ] && find "$dir" -maxdepth 1 -type f ! -name '.*' -exec cp -- {} "$scratch/corpus/" \;
done

export TMPDIR="$scratch/tmp"
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"

status=0
# libFuzzer's own failure status (77) means "skipped" to meson: a crash must read as a failure.
"$fuzzer" -max_total_time="$seconds" -max_len="$max_len" -timeout=10 -rss_limit_mb=1024 \
    -error_exitcode=1 -timeout_exitcode=1 \
    -print_final_stats=1 -artifact_prefix="$scratch/artifacts/" "$scratch/corpus" || status=$?

if [ "$status" -ne 0 ]; then
    echo "run-fuzzer: $(basename "$fuzzer") failed (status $status); inputs that fail:" >&2
    ls -l "$scratch/artifacts" >&2
    echo "run-fuzzer: reproduce with: $fuzzer FILE; keep a real finding under fuzz/crashes-found/" >&2
fi
rm -rf "$scratch/tmp"
exit "$status"
