#!/bin/sh
# Instructions the live-query path costs a query node, by callgrind (stable
# under load): a write node, 1,000 bank accounts, a memory-backed query node
# under callgrind, one watcher of the 1,000 accounts (zcq_live watch), then
# DEPOSITS deposits over them; prints the watcher's line, the node's "live"
# status, and callgrind's inclusive counts of the apply and watch paths.
# Usage: sh bench/live-instr.sh [BUILD] [DEPOSITS]   (needs valgrind)
set -u
build=${1:-build}
deposits=${2:-10000}
. "$(dirname "$0")/lib.sh"
bench_init live-instr
bench_write_node "$build" 1000 || exit 1
valgrind --tool=callgrind --trace-children=no --callgrind-out-file="$dir/query.cg" \
    "$build/zcqrs-query" --events "$e" --replay "$r" --queries "$q" --data "$dir/query" \
    --storage memory --snapshot 0 >"$dir/query.log" 2>&1 &
query=$!
pids="$query $pids"
"$build/bench/zcq_live" caught-up "$c" "$q" 600000 >/dev/null || exit 1
"$build/bench/zcq_live" watch "$q" 1000 5000 >"$dir/watch.out" &
pids="$! $pids"
tries=0
until grep -q ready "$dir/watch.out"; do
    tries=$((tries + 1))
    [ $tries -gt 1200 ] && { echo "live-instr: the watcher never got its results" >&2; exit 1; }
    sleep 0.1
done
"$build/bench/zcq_filtered" deposit "$c" 1000 "$deposits" || exit 1
"$build/bench/zcq_live" caught-up "$c" "$q" 600000 >/dev/null || exit 1
"$build/zcqrs" status --node "$q" --commands "$c" --format json | tail -n 1 |
    sed -n 's/.*"events_applied":\([0-9]*\).*"live":\({[^}]*}\).*/events_applied \1 live \2/p'
wait "${pids%% *}" # the watcher, after 5 s without an update
echo "watcher: $(tail -n 1 "$dir/watch.out")"
kill "$query" && wait "$query"
callgrind_annotate --inclusive=yes "$dir/query.cg" 2>/dev/null |
    grep -E "PROGRAM TOTALS|:(zcq_projection_apply|s_evaluate|s_fill_answer|zcq_watches_handle|zcq_watches_changed) \[" 
