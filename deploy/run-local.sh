#!/bin/sh
# deploy/run-local.sh - run a local zcqrs cluster in the foreground.
#
#   usage: deploy/run-local.sh          (what `make run` calls after building)
#
# Starts one write node (commands tcp://127.0.0.1:5601, events :5602,
# replay :5603) and two query nodes (queries :5611 and :5612), each from its
# ZPL file in deploy/config/. Data goes under var/ in the repository and
# survives restarts; logs are appended to var/logs/<node>.log, each run
# after a "run-local: start" line.
#
# Environment:
#   ZCQRS_DATA=DIR     data and logs folder instead of var/
#   ZCQRS_BUILD=DIR    build folder that holds the programs [build]
#   ZCQRS_START_WAIT=S seconds each node may take to come up [15]
#   SECURE=1           CURVE on every endpoint (keys in DATA/keys)
#
# Ctrl-C (SIGINT) or SIGTERM stops exactly the nodes this script started
# (SIGTERM, a bounded wait, then SIGKILL) and exits 0. If a node dies, the
# script names it, shows the end of its log, stops the others and exits 1.
set -u

program=run-local
origin=$(pwd)
root=$(cd "$(dirname "$0")/.." && pwd) || exit 1
cd "$root" || exit 1

build=${ZCQRS_BUILD:-build}
data=${ZCQRS_DATA:-var}
start_wait=${ZCQRS_START_WAIT:-15}
case $data in
    /*) ;;
    *) [ -n "${ZCQRS_DATA:-}" ] && data=$origin/$data ;;
esac
logs=$data/logs

pid_write=""        # PIDs of the nodes this script started, "" if none
pid_query1=""
pid_query2=""
sleeper=""          # PID of the `sleep` the watch loop waits on
stopping=0          # 1 once we are stopping the cluster

say () {
    printf '%s: %s\n' "$program" "$*"
}

# True if the process runs (a zombie counts as gone).
alive () {
    [ -n "$1" ] || return 1
    state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    case $state in
        Z*|"") return 1 ;;
    esac
    return 0
}

# Stop every node we started: SIGTERM, wait up to 5 s, then SIGKILL.
stop_all () {
    [ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null
    running=""
    for pid in $pid_query2 $pid_query1 $pid_write; do
        # A node may already be on its way out (Ctrl-C reaches it too)
        alive "$pid" && kill -TERM "$pid" 2>/dev/null
        running="$running $pid"
    done
    [ -z "$running" ] && return 0
    say "stopping the nodes (pid$running)"
    tries=0
    while [ "$tries" -lt 50 ]; do
        left=""
        for pid in $running; do
            alive "$pid" && left="$left $pid"
        done
        [ -z "$left" ] && break
        sleep 0.1
        tries=$((tries + 1))
    done
    for pid in $running; do
        if alive "$pid"; then
            say "pid $pid did not stop in 5 s; killing it"
            kill -KILL "$pid" 2>/dev/null
        fi
        wait "$pid" 2>/dev/null
    done
    pid_write=""
    pid_query1=""
    pid_query2=""
    say "stopped"
}

on_signal () {
    [ "$stopping" -eq 1 ] && return
    stopping=1
    echo
    stop_all
    exit 0
}

trap on_signal INT TERM HUP
trap stop_all EXIT

# Lines this run wrote to a log: those after the first `skip` lines.
this_run () {
    tail -n "+$(($2 + 1))" "$1"
}

# Report a node that is gone, with the end of its log, stop the rest, exit 1.
died () {
    name=$1
    pid=$2
    log=$3
    skip=$4
    wait "$pid" 2>/dev/null
    code=$?
    say "the $name (pid $pid) stopped with exit code $code; end of $log:"
    this_run "$log" "$skip" | tail -n 15 | sed 's/^/    /'
    if this_run "$log" "$skip" | grep -q "Address already in use"; then
        say "a port is busy: is another cluster running (make run)? Stop it first."
    elif this_run "$log" "$skip" | grep -q "/LOCK"; then
        say "the data folder is in use: is another cluster running on $data?"
    fi
    stopping=1
    case $name in
        "write node") pid_write="" ;;
        "query node 1") pid_query1="" ;;
        "query node 2") pid_query2="" ;;
    esac
    stop_all
    exit 1
}

# Wait until the node prints its ready line, or dies, or time runs out.
wait_ready () {
    name=$1
    pid=$2
    log=$3
    skip=$4
    tries=0
    while [ "$tries" -lt $((start_wait * 10)) ]; do
        if this_run "$log" "$skip" | grep -q "^zcqrs-[a-z]* ready "; then
            return 0
        fi
        alive "$pid" || died "$name" "$pid" "$log" "$skip"
        sleep 0.1
        tries=$((tries + 1))
    done
    say "the $name (pid $pid) did not come up in $start_wait s; end of $log:"
    this_run "$log" "$skip" | tail -n 15 | sed 's/^/    /'
    stop_all
    exit 1
}

# Append a start line to a log; print how many lines came before it.
open_log () {
    [ -f "$1" ] || : >"$1"
    wc -l <"$1" | tr -d ' '
    echo "run-local: start $(date '+%Y-%m-%d %H:%M:%S') ($2)" >>"$1"
}

for binary in zcqrs zcqrs-write zcqrs-query; do
    if [ ! -x "$build/$binary" ]; then
        say "$build/$binary is missing: run 'make' (or 'make run') first" >&2
        exit 1
    fi
done
# Create the folders first: the nodes would race to create a shared parent
if ! mkdir -p "$logs" "$data/write" "$data/query-1" "$data/query-2"; then
    say "cannot create the data folder '$data'" >&2
    exit 1
fi

say "data in $data, logs in $logs"

# SECURE=1 (make run SECURE=1): CURVE on every endpoint, with the keys and
# settings deploy/secure-keys.sh keeps in $data/keys
secure_write=""
secure_query=""
if [ "${SECURE:-}" = 1 ]; then
    deploy/secure-keys.sh "$data/keys" "$build" >/dev/null || exit 1
    secure_write="--config $data/keys/write.zpl"
    secure_query="--config $data/keys/query.zpl"
    say "secured; client: zcqrs --cert $data/keys/client.cert --server-key $data/keys/write.cert --query-key $data/keys/query.cert ..."
fi

skip_write=$(open_log "$logs/write.log" "write node")
"$build/zcqrs-write" --config deploy/config/write.zpl $secure_write --data "$data/write" \
    >>"$logs/write.log" 2>&1 &
pid_write=$!
wait_ready "write node" "$pid_write" "$logs/write.log" "$skip_write"

skip_query1=$(open_log "$logs/query-1.log" "query node 1")
"$build/zcqrs-query" --config deploy/config/query-1.zpl $secure_query --data "$data/query-1" \
    >>"$logs/query-1.log" 2>&1 &
pid_query1=$!
skip_query2=$(open_log "$logs/query-2.log" "query node 2")
"$build/zcqrs-query" --config deploy/config/query-2.zpl $secure_query --data "$data/query-2" \
    >>"$logs/query-2.log" 2>&1 &
pid_query2=$!
wait_ready "query node 1" "$pid_query1" "$logs/query-1.log" "$skip_query1"
wait_ready "query node 2" "$pid_query2" "$logs/query-2.log" "$skip_query2"

# The ready line of this run, without the program name: endpoints, position
summary () {
    this_run "$1" "$2" | sed -n 's/^zcqrs-[a-z]* ready //p' | head -n 1
}

cat <<EOF

zcqrs local cluster is up
  write node    pid $pid_write   $(summary "$logs/write.log" "$skip_write")
  query node 1  pid $pid_query1   $(summary "$logs/query-1.log" "$skip_query1")
  query node 2  pid $pid_query2   $(summary "$logs/query-2.log" "$skip_query2")

Try, in another terminal:
  $build/zcqrs status
  $build/zcqrs send OpenAccount acc-1 owner=alice --expect 0
  $build/zcqrs send Deposit acc-1 amount=100
  $build/zcqrs query account id=acc-1 --min-position 2
  $build/zcqrs query totals --node tcp://127.0.0.1:5612 --min-position 2
  $build/zcqrs tail --from 1 --idle 500

Ctrl-C stops the cluster; the data stays in $data.
EOF

# Watch the nodes until a signal arrives or one of them dies
while :; do
    alive "$pid_write" || died "write node" "$pid_write" "$logs/write.log" "$skip_write"
    alive "$pid_query1" || died "query node 1" "$pid_query1" "$logs/query-1.log" "$skip_query1"
    alive "$pid_query2" || died "query node 2" "$pid_query2" "$logs/query-2.log" "$skip_query2"
    sleep 1 &
    sleeper=$!
    wait "$sleeper"
    sleeper=""
done
