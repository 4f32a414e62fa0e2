# bench/lib.sh - what the bench scripts share (sourced, not run): a fresh
# temporary folder $dir, removed at exit with every process in $pids.
bench_init () {   # TAG: names the folder
    dir=$(mktemp -d "${TMPDIR:-/tmp}/zcq-$1.XXXXXX") || exit 1
    pids=""
    trap bench_cleanup EXIT
    trap 'exit 1' INT TERM
}

bench_cleanup () {
    for pid in $pids; do
        kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    done
    rm -rf "$dir"
}

# A write node on ipc endpoints in $dir ($c commands, $e events, $r replay;
# $q is left for a query node), its pid added to $pids, and ACCOUNTS bank
# accounts opened on it (acct-0 ...). Usage: bench_write_node BUILD ACCOUNTS
bench_write_node () {
    c="ipc://$dir/c"
    e="ipc://$dir/e"
    r="ipc://$dir/r"
    q="ipc://$dir/q"
    "$1/zcqrs-write" --commands "$c" --events "$e" --replay "$r" --data "$dir/write" \
        >"$dir/write.log" 2>&1 &
    pids="$! $pids"
    "$1/bench/zcq_filtered" open "$c" "$2"
}
