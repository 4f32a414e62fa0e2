#!/bin/sh
# Catch-up speed of a fresh query node: writes a bank log of N events
# (default 1,000,000) straight through the event log, starts a write node on
# it, then 3 times starts a query node on an empty folder and times it until
# it has applied the whole log. Prints each run (wall-clock rate, and the
# query node's own CPU seconds, which a busy machine does not inflate) and
# the median. STORAGE is the query node's read-model backend, leveldb (the
# default) or memory. Usage: sh bench/catchup.sh [BUILD] [EVENTS] [STORAGE]
set -u
build=${1:-build}
events=${2:-1000000}
storage=${3:-leveldb}
dir=$(mktemp -d "${TMPDIR:-/tmp}/zcq-catchup.XXXXXX") || exit 1
write=""
query=""
cleanup () {
    [ -n "$query" ] && kill "$query" 2>/dev/null && wait "$query" 2>/dev/null
    [ -n "$write" ] && kill "$write" 2>/dev/null && wait "$write" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
ticks=$(getconf CLK_TCK)

echo "machine: $(nproc) cores, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1), load $(cut -d' ' -f1-3 /proc/loadavg)"
"$build/bench/zcq_catchup" log "$dir/write" "$events" || exit 1
timeout 600 "$build/zcqrs-write" --commands "ipc://$dir/c" --events "ipc://$dir/e" \
    --replay "ipc://$dir/r" --data "$dir/write" >"$dir/write.log" 2>&1 &
write=$!
rates=""
for run in 1 2 3; do
    rm -rf "$dir/query"
    # no timeout wrapper: $! must be the node itself, for its CPU time; the
    # wait below is bounded and cleanup stops the node
    "$build/zcqrs-query" --events "ipc://$dir/e" --replay "ipc://$dir/r" \
        --queries "ipc://$dir/q" --data "$dir/query" --storage "$storage" \
        >"$dir/query.log" 2>&1 &
    query=$!
    line=$("$build/bench/zcq_catchup" wait "ipc://$dir/q" "$events" 300) || {
        echo "run $run failed: $line"; cat "$dir/query.log"; exit 1; }
    cpu=$(awk -v tck="$ticks" '{printf "%.2f", ($14 + $15) / tck}' "/proc/$query/stat")
    kill "$query"; wait "$query" 2>/dev/null; query=""
    per_cpu=$(awk -v n="$events" -v s="$cpu" 'BEGIN {printf "%.0f", n / s}')
    echo "run $run: $line; query node cpu ${cpu} s = $per_cpu events per cpu-second"
    rates="$rates $(echo "$line" | awk '{print $6}')"
done
median=$(echo $rates | tr ' ' '\n' | sort -n | sed -n 2p)
echo "catch-up median: $median events/s ($events events, fresh query node, 1 write node, ipc://)"
