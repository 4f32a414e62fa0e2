#!/bin/sh
# What 1,000 live queries deliver and what they cost the query node: a write
# node, a query node, 1,000 bank accounts (acct-0 .. acct-999), then per run:
#   load:    DEPOSITS deposits spread over the accounts in turn (pipelined,
#            256 out), without watches, then again with one watcher holding
#            1,000 watches (the account query of each account); for each,
#            the wall time until the query node has applied the head, and
#            the query node's CPU over it; the watcher's updates and their
#            rate;
#   catch-up: the query node restarted on the memory backend (rebuilt from
#            replay: the whole log at full speed), without and with the
#            1,000 watches made as it starts; events over the time until it
#            applied the head.
# Three runs, then the medians. Usage: sh bench/live.sh [BUILD] [DEPOSITS]
# (make bench-live)
set -u
build=${1:-build}
deposits=${2:-100000}
watches=1000
. "$(dirname "$0")/lib.sh"
bench_init live

filtered="$build/bench/zcq_filtered" # opens accounts and deposits (bench/zcq_filtered.c)
live="$build/bench/zcq_live"
c="ipc://$dir/c"
e="ipc://$dir/e"
r="ipc://$dir/r"
q="ipc://$dir/q"

# CPU ticks (user + system) a process used so far
ticks () {
    awk '{print $14 + $15}' "/proc/$1/stat"
}
hz=$(getconf CLK_TCK)

start_query () {   # LOG [FLAGS...]
    log=$1
    shift
    "$build/zcqrs-query" --events "$e" --replay "$r" --queries "$q" "$@" >"$log" 2>&1 &
    query=$!
    pids="$write $query"
}

stop_query () {
    kill "$query" 2>/dev/null && wait "$query" 2>/dev/null
    pids="$write"
}

# Wait until the watcher said ready (bounded: 30 s)
wait_ready () {
    tries=0
    until grep -q ready "$1" 2>/dev/null; do
        tries=$((tries + 1))
        [ $tries -gt 600 ] && { echo "live: the watcher never got its first results" >&2; exit 1; }
        sleep 0.05
    done
}

# One load: deposits, then until applied; prints "ms M cpu_ms C"
load () {
    before=$(ticks "$query")
    started=$(date +%s%N)
    "$filtered" deposit "$c" "$watches" "$deposits" || exit 1
    "$live" caught-up "$c" "$q" 60000 >/dev/null || { echo "live: query node behind" >&2; exit 1; }
    ended=$(date +%s%N)
    after=$(ticks "$query")
    echo "ms $(((ended - started) / 1000000)) cpu_ms $(((after - before) * 1000 / hz))"
}

# The catch-up's apply rate: from the query node's start until it applied
# the head (its start, a few ms, included); prints "events E ms T rate R"
catchup_rate () {
    line=$("$live" caught-up "$c" "$q" 120000) || { echo "live: the catch-up did not end" >&2; exit 1; }
    echo "$line" | awk '{printf "events %d ms %d rate %d\n", $2, $4, $4 ? $2 * 1000 / $4 : 0}'
}

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $watches accounts and" \
     "watches, $deposits deposits a load"
for run in 1 2 3; do
    rm -rf "$dir/write" "$dir/query" "$dir"/*.out "$dir"/*.log
    "$build/zcqrs-write" --commands "$c" --events "$e" --replay "$r" --data "$dir/write" \
        >"$dir/write.log" 2>&1 &
    write=$!
    pids="$write"
    start_query "$dir/query.log" --data "$dir/query"
    "$filtered" open "$c" "$watches" || exit 1
    "$live" caught-up "$c" "$q" 30000 >/dev/null || exit 1

    without=$(load)
    "$live" watch "$q" "$watches" 3000 >"$dir/watch.out" &
    watcher=$!
    pids="$write $query $watcher"
    wait_ready "$dir/watch.out"
    with=$(load)
    wait "$watcher"
    pids="$write $query"
    updates=$(tail -n 1 "$dir/watch.out")

    # Catch-up: the whole log again, into memory, without and with watches
    stop_query
    start_query "$dir/catchup-0.log" --data "$dir/mem-0" --storage memory --snapshot 0
    plain=$(catchup_rate)
    stop_query
    start_query "$dir/catchup-1.log" --data "$dir/mem-1" --storage memory --snapshot 0
    "$live" watch "$q" "$watches" 1000 >"$dir/watch-catchup.out" &
    watcher=$!
    pids="$write $query $watcher"
    watched=$(catchup_rate)
    wait "$watcher"
    stop_query
    kill "$write" 2>/dev/null && wait "$write" 2>/dev/null
    pids=""
    echo "run $run: load without watches: $without"
    echo "run $run: load with $watches watches: $with; watcher: $updates"
    echo "run $run: catch-up without watches: $plain; with $watches watches: $watched"
    echo "$without $with $updates" >>"$dir/loads"
    echo "$plain $watched" >>"$dir/catchups"
done
median () {
    sort -n | sed -n 2p
}
column () {   # FILE FIELD
    awk "{print \$$2}" "$1" | median
}
# loads: ms cpu (without) ms cpu (with) updates N seconds S per_second R cpu_ms C
echo "median over 3 runs ($deposits deposits over $watches accounts):"
echo "  load, query node: without watches $(column "$dir/loads" 2) ms wall, $(column "$dir/loads" 4) ms CPU;" \
     "with $watches watches $(column "$dir/loads" 6) ms wall, $(column "$dir/loads" 8) ms CPU"
echo "  updates delivered: $(column "$dir/loads" 10) in $(column "$dir/loads" 12) s:" \
     "$(column "$dir/loads" 14) updates/s (watcher CPU $(column "$dir/loads" 16) ms)"
echo "  catch-up apply rate: without watches $(column "$dir/catchups" 6) events/s," \
     "with $watches watches $(column "$dir/catchups" 12) events/s"
