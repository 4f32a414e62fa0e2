#!/bin/sh
# Run each fuzz target for a bounded time; stop at the first finding.
# usage: fuzz/run.sh FUZZ_BUILD SECONDS TARGET...
# Prints one line per target: executions, and "ok" or where the finding is.
# Exit 1 if any target found a crash, leak, hang or undefined behaviour.
set -u
build=$1
seconds=$2
shift 2
status=0

# s_show_finding LOG FINDINGS: what a finding was, in a few lines, for a log
# read far from this machine (CI shows the end of the suite's output): the
# sanitizer's or libFuzzer's error, the first frames, and each input in hex
s_show_finding() {
    grep -E -e '^==[0-9]+==' -e '^ *#[0-6] 0x' -e '^SUMMARY' -e 'runtime error' \
        -e 'out-of-memory|timeout|deadly signal' "$1" | cut -c1-160 | head -n 12 | sed 's/^/    /'
    for input in "$2"/*; do
        [ -f "$input" ] || continue
        echo "    $(basename "$input") ($(wc -c <"$input") bytes): $(head -c 48 "$input" | od -An -tx1 | tr -d '\n')"
    done
}
# The targets' LevelDB folders: a crashed target leaves its own behind
export TMPDIR="$build/tmp"
rm -rf "$TMPDIR"
mkdir -p "$TMPDIR"
for target in "$@"; do
    corpus="$build/corpus/$target"
    findings="$build/findings/$target"
    mkdir -p "$corpus" "$findings"
    # Seeds and earlier findings: the tree's corpus is read, never written
    seeds="fuzz/corpus/$target"
    [ -d "$seeds" ] || seeds=""
    regressions=$(ls fuzz/regressions/"$target"-* 2>/dev/null || true)
    log="$build/$target.log"
    # Target's own libFuzzer flags, one a line ('#' starts a comment)
    options=$(grep -v '^#' "fuzz/$target.options" 2>/dev/null || true)
    if [ -n "$regressions" ]; then
        # Each earlier finding must now run clean, once
        if ! "$build/fuzz/$target" $options -artifact_prefix="$findings/" $regressions \
            >"$log.regressions" 2>&1; then
            echo "$target: an earlier finding fails again, see $log.regressions"
            tail -n 40 "$log.regressions" | sed 's/^/    /'
            status=1
            continue
        fi
    fi
    "$build/fuzz/$target" $options -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$findings/" "$corpus" $seeds >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    if [ $rc -eq 0 ]; then
        echo "$target: ${runs:-?} executions in ${seconds} s, no finding"
    else
        echo "$target: FINDING after ${runs:-?} executions (exit $rc): $(ls "$findings" | head -3); see $log"
        s_show_finding "$log" "$findings"
        status=1
    fi
done
exit $status
