#!/bin/sh
# tests/test_write_group_heal.sh - a write group elects a new leader within
# 5 s when its leader is cut off right after another member came back from
# a cut of its own (issue 15: it once took ~26 s).
#
#   usage: sh tests/test_write_group_heal.sh BUILD_DIR
#
# Two chaos runs of the scenario heal-cut-leader (chaos/run, docs/chaos.md)
# on a group of 3 under the bank workload, each member in its own network
# namespace: a follower is cut for 8 s (its connections stall, and it falls
# behind the leader's Raft snapshot), healed, and 1 s later the leader is
# cut. Another member must lead within 5 s, the cut one answer not_leader,
# and every invariant of the checker hold on every member's log. Before the
# fix (libraft's connections kept for minutes after a cut; a healed member
# copying a store from the cut leader for 5 s per answer) this failed about
# one run in two. Needs root and `ip netns`: skipped otherwise, and said so.
# About a minute; each run is bounded, and chaos/run stops and removes all
# it started on any exit.
set -u

build=${1:-build}
case $build in
    /*) ;;
    *) build=$(pwd)/$build ;;
esac
if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null || ! ip netns list >/dev/null 2>&1; then
    echo "test_write_group_heal: skipped (needs root and ip netns to cut links)"
    exit 0
fi
for binary in zcqrs zcqrs-write zcqrs-query chaos/zcq-workload chaos/zcq-check; do
    if [ ! -x "$build/$binary" ]; then
        echo "test_write_group_heal: $build/$binary is missing (run make first)" >&2
        exit 1
    fi
done
dir=$(mktemp -d "${TMPDIR:-/tmp}/zcq-heal.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
trap 'exit 1' INT TERM HUP
failures=0

for seed in 15 16; do
    out=$dir/run-$seed
    timeout -k 10 120 chaos/run --build "$build" --out "$out" --seed "$seed" --write-nodes 3 \
        --query-nodes 2 --threads 4 --scenarios heal-cut-leader >"$out.out" 2>&1
    rc=$?
    ran=$(grep -c '^heal-cut-leader ' "$out/partition.txt" 2>/dev/null)
    if [ "$rc" -ne 0 ] || [ "${ran:-0}" -ne 1 ]; then
        failures=$((failures + 1))
        echo "FAIL: chaos/run --seed $seed --scenarios heal-cut-leader: exit $rc," \
            "${ran:-0} election measured"
        sed 's/^/    /' "$out.out"
        for log in "$out"/cluster/logs/write-*.log; do
            [ -f "$log" ] || continue
            echo "    --- $log: Raft and copy lines"
            grep -E "write group member|copy" "$log" | tail -n 12 | sed 's/^/    /'
        done
    else
        sed 's/^/test_write_group_heal: /' "$out/partition.txt"
    fi
    prefix=$(cat "$out/netns.prefix" 2>/dev/null)
    if [ -n "$prefix" ] && ip netns list | grep -q "^$prefix-"; then
        failures=$((failures + 1))
        echo "FAIL: chaos run --seed $seed left network namespaces $prefix-*"
    fi
done

if [ "$failures" -gt 0 ]; then
    echo "test_write_group_heal: $failures failed"
    exit 1
fi
echo "test_write_group_heal: passed"
exit 0
