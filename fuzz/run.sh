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
        status=1
    fi
done
exit $status
