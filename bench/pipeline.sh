#!/bin/sh
# Pipelined command throughput of one write node, per durability setting:
# 3 runs of 50,000 deposits with 1,000 in flight, on ipc:// in a temporary
# folder; prints each run and the median. Usage: sh bench/pipeline.sh [BUILD]
set -u
build=${1:-build}
dir=$(mktemp -d "${TMPDIR:-/tmp}/zcq-bench.XXXXXX") || exit 1
pid=""
cleanup () {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

echo "machine: $(nproc) cores, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1), $(uname -r)"
for durability in sync async; do
    rm -rf "$dir/write"
    timeout 300 "$build/zcqrs-write" --commands "ipc://$dir/c" --events "ipc://$dir/e" \
        --replay "ipc://$dir/r" --data "$dir/write" --durability "$durability" \
        >"$dir/write.log" 2>&1 &
    pid=$!
    rates=""
    for run in 1 2 3; do
        line=$(timeout 120 "$build/bench/zcq_pipeline" "ipc://$dir/c" 50000 1000) || {
            echo "run $run failed: $line"; cat "$dir/write.log"; exit 1; }
        echo "durability=$durability run $run: $line"
        rates="$rates $(echo "$line" | awk '{print $NF}')"
    done
    median=$(echo $rates | tr ' ' '\n' | sort -n | sed -n 2p)
    echo "durability=$durability median: $median commands/s (50,000 deposits, 1,000 in flight, 1 client)"
    kill "$pid"; wait "$pid" 2>/dev/null; pid=""
done
