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
