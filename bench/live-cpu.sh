#!/bin/sh
# Live apply CPU of one query node, without the rest of the benchmark suite
# around it: a write node, 1,000 bank accounts, one query node (STORAGE:
# leveldb or memory) caught up, then DEPOSITS pipelined deposits (256 out);
# prints the query node's own CPU (user + system, from /proc) per 1,000
# events it applied live. Usage: sh bench/live-cpu.sh [BUILD] [STORAGE] [DEPOSITS]
set -u
build=${1:-build}
storage=${2:-leveldb}
deposits=${3:-300000}
. "$(dirname "$0")/lib.sh"
bench_init live-cpu
bench_write_node "$build" 1000 || exit 1
"$build/zcqrs-query" --events "$e" --replay "$r" --queries "$q" --data "$dir/query" \
    --storage "$storage" >"$dir/query.log" 2>&1 &
query=$!
pids="$query $pids"
"$build/bench/zcq_live" caught-up "$c" "$q" 60000 >/dev/null || exit 1
before=$(awk '{print $14 + $15}' "/proc/$query/stat")
"$build/bench/zcq_filtered" deposit "$c" 1000 "$deposits" >/dev/null || exit 1
"$build/bench/zcq_live" caught-up "$c" "$q" 60000 >/dev/null || exit 1
after=$(awk '{print $14 + $15}' "/proc/$query/stat")
awk -v after="$after" -v before="$before" -v tck="$(getconf CLK_TCK)" -v n="$deposits" \
    -v storage="$storage" 'BEGIN {printf "live apply, %s: %d events, query node CPU %.3f ms per 1,000 events\n",
    storage, n, (after - before) * 1000 / tck / (n / 1000)}'
