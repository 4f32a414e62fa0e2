#!/bin/sh
# deploy/run-local.sh - run a local zcqrs cluster in the foreground.
#
#   usage: deploy/run-local.sh          (what `make run` calls after building)
#
# Starts one write node and two query nodes with deploy/cluster: commands on
# tcp://127.0.0.1:5601, events :5602, replay :5603, queries :5611 and :5612,
# their Prometheus metrics on http://127.0.0.1:9601, :9611 and :9612, and
# the web console (zcqrs-console) on http://127.0.0.1:9600/, when those
# ports are free (free ports otherwise, printed). Data goes under
# var/ in the repository (var/write, var/query-1, var/query-2) and survives
# restarts; logs are appended to var/logs/<node>.log, each run after a
# "cluster: start" line; the configs it wrote are in var/conf.
#
# Environment:
#   ZCQRS_DATA=DIR     data and logs folder instead of var/
#   ZCQRS_BUILD=DIR    build folder that holds the programs [build]
#   ZCQRS_START_WAIT=S seconds each node may take to come up [20]
#   SECURE=1           CURVE on every endpoint, keys made once in DATA/keys
#                      (make run SECURE=1); the examples print the key flags
#   CONSOLE_SEND=1     the console's send page may send commands (off
#                      otherwise: make run CONSOLE_SEND=1)
#   WRITE_NODES=3      a write group of 3 (or 5) members instead of one write
#                      node (make run WRITE_NODES=3): write-1 on :5601-5603,
#                      write-2 on :5631-5633, write-3 on :5661-5663, Raft on
#                      :5606, :5636, :5666; a member that dies is named and
#                      the others carry on
#
# Ctrl-C (SIGINT) or SIGTERM stops exactly the nodes this script started
# (deploy/cluster down: SIGTERM, a bounded wait, then SIGKILL) and exits 0.
# If a node dies, the script names it, shows the end of its log, stops the
# others and exits 1.
set -u

program=run-local
origin=$(pwd)
root=$(cd "$(dirname "$0")/.." && pwd) || exit 1
cd "$root" || exit 1

build=${ZCQRS_BUILD:-build}
data=${ZCQRS_DATA:-var}
case $data in
    /*) ;;
    *) [ -n "${ZCQRS_DATA:-}" ] && data=$origin/$data ;;
esac
cluster="$root/deploy/cluster"
sleeper=""          # PID of the `sleep` the watch loop waits on
up=0                # 1 once the cluster is up
stopping=0          # 1 once we are stopping it

say () {
    printf '%s: %s\n' "$program" "$*"
}

stop_all () {
    [ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null
    if [ "$up" -eq 1 ]; then
        up=0
        say "stopping the nodes"
        "$cluster" down --dir "$data"
        say "stopped"
    fi
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

mkdir -p "$data" || { say "cannot create the data folder '$data'" >&2; exit 1; }
data=$(cd "$data" && pwd)
say "data in $data, logs in $data/logs"
secure=""
[ "${SECURE:-0}" = 1 ] && secure=--secure
console_flag=--console
[ "${CONSOLE_SEND:-0}" = 1 ] && console_flag=--console-send
write_nodes=${WRITE_NODES:-1}
# shellcheck disable=SC2086
if ! "$cluster" up --query-nodes 2 --dir "$data" --build "$build" --port-base 5601 $secure \
        $console_flag --write-nodes "$write_nodes" >"$data/.up" 2>&1; then
    sed 's/^/    /' "$data/.up"
    if grep -q "Address already in use" "$data"/logs/*.log 2>/dev/null; then
        say "a port is busy: is another cluster running (make run)? Stop it first."
    elif grep -q "/LOCK" "$data"/logs/*.log 2>/dev/null; then
        say "the data folder is in use: is another cluster running on $data?"
    fi
    exit 1
fi
up=1
# shellcheck disable=SC1091
. "$data/cluster.env"
writers=write
[ "$write_nodes" -gt 1 ] && writers=$(seq -f 'write-%g' 1 "$write_nodes" | tr '\n' ' ')
set -- $queries
# Flags the examples need when the ports are not the defaults
c=""
[ "$commands" = tcp://127.0.0.1:5601 ] || c=" --commands $commands"
# A secured cluster: every example carries the client's key flags
k=""
[ -n "${zcqrs_flags:-}" ] && k=" $zcqrs_flags" && c="$c$k"

cat <<EOF

zcqrs local cluster is up
$(cat "$data/.up")

Console:  $console   (in a browser on this machine)
Metrics:  $(for node in $writers query-1 query-2; do
    grep ' ready .* metrics=' "$data/logs/$node.log" | tail -n 1 | sed 's/.* metrics=\([^ ]*\).*/\1/'
done | tr '\n' ' ')

Try, in another terminal:
  $build/zcqrs$c status --node $1 --node $2
  $build/zcqrs$c send OpenAccount acc-1 owner=alice --expect 0
  $build/zcqrs$c send Deposit acc-1 amount=100
  $build/zcqrs$k query account id=acc-1 --node $1 --min-position 2
  $build/zcqrs$k query totals --node $2 --min-position 2
  $build/zcqrs$c tail --from 1 --idle 500
  deploy/cluster status --dir $data

Ctrl-C stops the cluster; the data stays in $data.
EOF
rm -f "$data/.up"

# Watch the nodes until a signal arrives or one of them dies
gone=""
while :; do
    for node in $writers query-1 query-2; do
        pid=$(cat "$data/run/$node.pid" 2>/dev/null)
        state=$(ps -o stat= -p "${pid:-0}" 2>/dev/null)
        case $node:$state in
            write-*:|write-*:Z*)
                # A write group survives a member: say so once, carry on
                case " $gone " in
                    *" $node "*) ;;
                    *) say "the $node (pid ${pid:-?}) stopped; the write group carries on" \
                           "without it (deploy/cluster start $node --dir $data)"
                       gone="$gone $node" ;;
                esac
                ;;
            *:|*:Z*)
                say "the $node (pid ${pid:-?}) stopped; end of $data/logs/$node.log:"
                tail -n 15 "$data/logs/$node.log" | sed 's/^/    /'
                stopping=1
                stop_all
                exit 1
                ;;
        esac
    done
    sleep 1 &
    sleeper=$!
    wait "$sleeper"
    sleeper=""
done
