#!/bin/sh
# Every node's Prometheus metrics, scraped from a real cluster: the format
# and naming rules (Debian's python3-prometheus-client parses them, and
# tests/metrics_check.py checks what the parser leaves to the writer) and
# counters that move as commands and queries are sent; a late query node
# catching up moves the write node's replay counters; the Grafana dashboard
# charts only metrics the nodes serve.
# usage: tests/test_scrape.sh BUILD_DIR
set -u
build=${1:-build}
top=$(pwd)
fail () {
    echo "test_scrape: FAILED: $*" >&2
    exit 1
}
/usr/bin/python3 -c "import prometheus_client" 2>/dev/null ||
    fail "python3-prometheus-client is missing (deploy/install-deps.sh installs it)"
dir=$(mktemp -d "${TMPDIR:-/tmp}/zcq-scrape-XXXXXX")
cleanup () {
    "$top/deploy/cluster" down --dir "$dir" >/dev/null 2>&1
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

"$top/deploy/cluster" up --query-nodes 2 --dir "$dir" --build "$build" >"$dir/up.out" 2>&1 ||
    { cat "$dir/up.out" >&2; fail "the cluster did not come up"; }
if ! timeout -k 5 120 /usr/bin/python3 "$top/tests/metrics_check.py" --dir "$dir" \
        --dashboard "$top/deploy/grafana/zcqrs-dashboard.json"; then
    for log in "$dir"/logs/*.log; do
        echo "--- $log" >&2
        tail -n 15 "$log" >&2
    done
    fail "the metrics are not what they should be"
fi
"$top/deploy/cluster" down --dir "$dir" >/dev/null 2>&1
# A node under the sanitizers that erred says so in its log
if grep -l "Sanitizer" "$dir"/logs/*.log >/dev/null 2>&1; then
    grep -h -A5 "Sanitizer" "$dir"/logs/*.log | head -40 >&2
    fail "a node's log holds a sanitizer report"
fi
echo "test_scrape: every node's metrics parse and move with the traffic"
