#!/bin/sh
# What a filtered subscription saves its subscriber: a write node, 10,000
# bank accounts (streams acct-0 .. acct-9999), then DEPOSITS deposits spread
# over them in turn, while two subscribers follow live: one to the stream
# acct-42, one to everything. Each prints the events it was delivered and
# its own CPU (user + system) over the load; three runs, then the medians.
# Usage: sh bench/filtered.sh [BUILD] [DEPOSITS]   (make bench-filtered)
set -u
build=${1:-build}
deposits=${2:-100000}
streams=10000
. "$(dirname "$0")/lib.sh"
bench_init filtered

bench="$build/bench/zcq_filtered"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $streams streams, $deposits deposits a run"
for run in 1 2 3; do
    rm -rf "$dir/write" "$dir"/*.out
    timeout 600 "$build/zcqrs-write" --commands "ipc://$dir/c" --events "ipc://$dir/e" \
        --replay "ipc://$dir/r" --data "$dir/write" >"$dir/write.log" 2>&1 &
    write=$!
    pids="$write"
    "$bench" open "ipc://$dir/c" "$streams" || exit 1
    "$bench" sub "ipc://$dir/e" "ipc://$dir/r" 3000 acct-42 >"$dir/one.out" &
    one=$!
    "$bench" sub "ipc://$dir/e" "ipc://$dir/r" 3000 >"$dir/all.out" &
    all=$!
    pids="$write $one $all"
    # Both have heard the write node (bounded: 10 s)
    tries=0
    until grep -q ready "$dir/one.out" 2>/dev/null && grep -q ready "$dir/all.out" 2>/dev/null; do
        tries=$((tries + 1))
        [ $tries -gt 200 ] && { echo "filtered: the subscribers never joined" >&2; exit 1; }
        sleep 0.05
    done
    "$bench" deposit "ipc://$dir/c" "$streams" "$deposits" || exit 1
    wait "$one" "$all"
    kill "$write" 2>/dev/null && wait "$write" 2>/dev/null
    pids=""
    echo "run $run: one stream: $(tail -n 1 "$dir/one.out")"
    echo "run $run: everything: $(tail -n 1 "$dir/all.out")"
    tail -n 1 "$dir/one.out" >>"$dir/one.all"
    tail -n 1 "$dir/all.out" >>"$dir/all.all"
done
median () {
    sort -n | sed -n 2p
}
one_cpu=$(awk '{print $4}' "$dir/one.all" | median)
all_cpu=$(awk '{print $4}' "$dir/all.all" | median)
one_per=$(awk '{print $6}' "$dir/one.all" | median)
all_per=$(awk '{print $6}' "$dir/all.all" | median)
echo "median CPU over the load: one stream $one_cpu ms, everything $all_cpu ms" \
     "(ratio $(awk "BEGIN {printf \"%.3f\", $one_cpu / $all_cpu}"))"
echo "median CPU per event delivered: one stream $one_per us, everything $all_per us"
