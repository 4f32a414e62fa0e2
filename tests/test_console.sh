#!/bin/sh
# zcqrs-console in a real browser: a cluster and its console are started
# (deploy/cluster up --console-send), then tests/console_browser.py drives
# Debian's headless Chromium through every page as a person would (the
# nodes up; a command sent with the CLI in the log page, its data as
# formatted JSON; its stream; a query and its position; a command sent from
# the page; the lag of a stopped query node; the charts drawn), saving a
# screenshot of each in BUILD/console/. A second console with sending off
# must say so on its send page and refuse bad requests by name; the console
# of a secured cluster must reach every node with its CURVE key. Bounded in
# time; the browser, the consoles and the nodes are stopped by PID.
# usage: tests/test_console.sh BUILD_DIR
set -u
build=${1:-build}
top=$(pwd)
fail () {
    echo "test_console: FAILED: $*" >&2
    exit 1
}
command -v chromium >/dev/null 2>&1 ||
    fail "chromium is missing (deploy/install-deps.sh installs it)"
# README's table of the console's settings names every flag --help prints
for flag in $("$build/zcqrs-console" --help | sed -n 's/^  \(--[a-z-]*\).*/\1/p'); do
    case $flag in
        --config|--set) ;;
        *) grep -q "\`$flag\`" "$top/README.md" || fail "README's console settings lack $flag" ;;
    esac
done
dir=$(mktemp -d "${TMPDIR:-/tmp}/zcq-console-XXXXXX")
secured=$dir/secured
readonly_pid=""
cleanup () {
    if [ -n "$readonly_pid" ] && kill -0 "$readonly_pid" 2>/dev/null; then
        kill -TERM "$readonly_pid" 2>/dev/null
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            kill -0 "$readonly_pid" 2>/dev/null || break
            sleep 0.2
        done
        kill -KILL "$readonly_pid" 2>/dev/null
    fi
    "$top/deploy/cluster" down --dir "$dir" >/dev/null 2>&1
    [ -f "$secured/cluster.env" ] && "$top/deploy/cluster" down --dir "$secured" >/dev/null 2>&1
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
show_logs () {
    for log in "$dir"/logs/*.log "$dir/readonly.log"; do
        [ -f "$log" ] || continue
        echo "--- $log" >&2
        tail -n 15 "$log" >&2
    done
}

"$top/deploy/cluster" up --query-nodes 2 --dir "$dir" --build "$build" --console-send \
    >"$dir/up.out" 2>&1 || { cat "$dir/up.out" >&2; fail "the cluster did not come up"; }
# shellcheck disable=SC1091
. "$dir/cluster.env"

# A second console, read-only (sending is off unless asked for)
"$build/zcqrs-console" --http 127.0.0.1:0 --commands "$commands" --replay "$replay" \
    --queries "$(echo "$queries" | tr ' ' ',')" >"$dir/readonly.log" 2>&1 </dev/null &
readonly_pid=$!
readonly_url=""
tries=0
while [ -z "$readonly_url" ] && [ "$tries" -lt 100 ]; do
    readonly_url=$(sed -n 's/^.* zcqrs-console ready http=\([^ ]*\).*/\1/p' "$dir/readonly.log" 2>/dev/null)
    [ -n "$readonly_url" ] || sleep 0.1
    tries=$((tries + 1))
done
[ -n "$readonly_url" ] || { show_logs; fail "the read-only console did not say ready"; }
grep -q "send=off" "$dir/readonly.log" || fail "a console without --send says it may send"

shots=$build/console
rm -rf "$shots"
if ! timeout -k 5 200 /usr/bin/python3 "$top/tests/console_browser.py" --dir "$dir" \
        --shots "$shots" --readonly "$readonly_url" --seconds 150; then
    show_logs
    fail "a page is not what a person should see (screenshots in $shots)"
fi
for page in cluster cluster-stopped-node log stream query send send-off; do
    head -c 8 "$shots/$page.png" 2>/dev/null | od -An -c | grep -q "P   N   G" ||
        fail "no screenshot $shots/$page.png"
done

# Stopped by PID: the consoles leave without a word from the sanitizers
kill -TERM "$readonly_pid"
tries=0
while kill -0 "$readonly_pid" 2>/dev/null && [ "$tries" -lt 100 ]; do
    sleep 0.1
    tries=$((tries + 1))
done
kill -0 "$readonly_pid" 2>/dev/null && fail "the read-only console did not stop on SIGTERM"
readonly_pid=""
"$top/deploy/cluster" down --dir "$dir" >/dev/null 2>&1

# A secured cluster: the console's own key reaches every node and the log
"$top/deploy/cluster" up --query-nodes 2 --dir "$secured" --build "$build" --secure --console \
    >"$dir/secured-up.out" 2>&1 || { cat "$dir/secured-up.out" >&2; fail "no secured cluster"; }
(
    # shellcheck disable=SC1091
    . "$secured/cluster.env"
    # shellcheck disable=SC2086
    "$build/zcqrs" $zcqrs_flags --commands "$commands" send OpenAccount acc-s owner=sam >/dev/null
) || fail "the secured cluster took no command"
timeout -k 5 60 /usr/bin/python3 "$top/tests/console_browser.py" --secured "$secured" ||
    { tail -n 20 "$secured/logs/console.log" >&2; fail "the secured cluster's console"; }
"$top/deploy/cluster" down --dir "$secured" >/dev/null 2>&1

if grep -l "Sanitizer" "$dir"/logs/*.log "$dir/readonly.log" "$secured"/logs/*.log \
        >/dev/null 2>&1; then
    grep -h -A8 "Sanitizer" "$dir"/logs/*.log "$dir/readonly.log" "$secured"/logs/*.log |
        head -60 >&2
    fail "a log holds a sanitizer report"
fi
echo "test_console: every page looked right in Chromium; screenshots in $shots"
