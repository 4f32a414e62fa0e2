#!/bin/sh
# deploy/run-local.sh - run a local zcqrs cluster in the foreground.
#
#   usage: deploy/run-local.sh          (what `make run` calls after building)
#
# Starts one write node and two query nodes with deploy/cluster: commands on
# tcp://127.0.0.1:5601, events :5602, replay :5603, queries :5611 and :5612,
# their Prometheus metrics on http://127.0.0.1:9601, :9611 and :9612, and
# the web console (zcqrs-console) on http://127.0.0.1:9600/. If one of those
# ports is taken (something listens on it), it says which and by what and
# stops; ZCQRS_PORT_BASE asks for other ports. Data goes under
# var/ in the repository (var/write, var/query-1, var/query-2) and survives
# restarts; logs are appended to var/logs/<node>.log, each run after a
# "cluster: start" line; the configs it wrote are in var/conf.
#
# Environment:
#   ZCQRS_DATA=DIR     data and logs folder instead of var/
#   ZCQRS_BUILD=DIR    build folder that holds the programs [build]
#   ZCQRS_START_WAIT=S seconds each node may take to come up [20]
#   ZCQRS_PORT_BASE=P  ports P, P+1, P+2 (write), P+10, P+11 (queries), their
#                      metrics at +4000, the console at P+3999 [5601];
#                      `any`: free ports, printed (make run PORT_BASE=P)
#   SECURE=1           CURVE on every endpoint, keys made once in DATA/keys
#                      (make run SECURE=1); the examples print the key flags
#   CONSOLE_SEND=1     the console's send page may send commands (off
#                      otherwise: make run CONSOLE_SEND=1)
#   WRITE_NODES=3      a write group of 3 (or 5) members instead of one write
#                      node (make run WRITE_NODES=3): write-1 on :5601-5603,
#                      write-2 on :5631-5633, write-3 on :5661-5663, Raft on
#                      :5606, :5636, :5666 (a member that dies is started
#                      again like any node; the others carry on meanwhile)
#
# Ctrl-C (SIGINT) or SIGTERM stops exactly the nodes this script started
# (deploy/cluster down: SIGTERM to the console, the query nodes, then the
# write node, each waited for), says what it stopped and exits 0. The nodes
# run in sessions of their own, so a terminal's Ctrl-C reaches only this
# script. If a node dies meanwhile, the script says so, shows the end of its
# log and starts it again; a node that dies 5 times within a minute, or does
# not come up again, stops the cluster (exit 1).
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
up=0                # 1 once `cluster up` was started (its nodes may run)
stopping=0          # 1 once we are stopping it

say () {
    printf '%s: %s\n' "$program" "$*"
}

stop_all () {
    [ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null
    if [ "$up" -eq 1 ] && [ -r "$data/cluster.env" ]; then
        up=0
        say "stopping the nodes: $(running_nodes | tr '\n' ' ')"
        "$cluster" down --dir "$data"
        say "stopped; the data stays in $data"
    fi
}

# The nodes of this cluster that run now, in the order `down` stops them.
running_nodes () {
    for node in console query-2 query-1 write; do
        pid=$(cat "$data/run/$node.pid" 2>/dev/null)
        [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$node (pid $pid)"
    done
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
port_base=${ZCQRS_PORT_BASE:-5601}
case $port_base in
    any) ports="" ;;
    *[!0-9]*|"") say "ZCQRS_PORT_BASE must be a port number or 'any', got '$port_base'" >&2
        exit 2 ;;
    *) ports="--port-base $port_base --exact-ports" ;;
esac
rm -f "$data/cluster.env"
up=1
# shellcheck disable=SC2086
if ! "$cluster" up --query-nodes 2 --dir "$data" --build "$build" $ports $secure \
        $console_flag --write-nodes "$write_nodes" >"$data/.up" 2>&1; then
    up=0
    sed 's/^/    /' "$data/.up"
    if grep -q "is taken: " "$data/.up"; then
        say "stop what listens there, or choose other ports: make run PORT_BASE=P" \
            "(or PORT_BASE=any for free ones)"
    elif grep -q "Address already in use" "$data"/logs/*.log 2>/dev/null; then
        say "a port is busy: is another cluster running (make run)? Stop it first."
    elif grep -q "/LOCK" "$data"/logs/*.log 2>/dev/null; then
        say "the data folder is in use: is another cluster running on $data?"
    fi
    exit 1
fi
# shellcheck disable=SC1091
. "$data/cluster.env"
writers=write
[ "$write_nodes" -gt 1 ] && writers=$(seq -f 'write-%g' 1 "$write_nodes" | tr '\n' ' ')
set -- $queries
# Flags the examples need when the ports are not the defaults: every
# endpoint of this cluster, so that no example reaches another one
c=""
[ "$commands" = tcp://127.0.0.1:5601 ] ||
    c=" --commands $commands --events $events --replay $replay"
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
  $build/zcqrs$c query account id=acc-1 --node $1 --min-position 2
  $build/zcqrs$c query totals --node $2 --min-position 2
  $build/zcqrs$c tail --from 1 --idle 500
  deploy/cluster status --dir $data

Ctrl-C stops the cluster; the data stays in $data.
EOF
rm -f "$data/.up"

# Watch the nodes until a signal arrives; start again one that dies
crashes=""          # times (s since the epoch) of the restarts in the last minute
while :; do
    for node in $writers query-1 query-2 $([ -n "${console:-}" ] && echo console); do
        pid=$(cat "$data/run/$node.pid" 2>/dev/null)
        state=$(ps -o stat= -p "${pid:-0}" 2>/dev/null)
        case $state in
            ""|Z*)
                [ "$stopping" -eq 1 ] && break
                now=$(date +%s)
                recent=""
                for t in $crashes; do
                    [ "$t" -gt $((now - 60)) ] && recent="$recent $t"
                done
                crashes="$recent $now"
                say "$(date -u '+%Y-%m-%dT%H:%M:%SZ') the $node (pid ${pid:-?}) stopped;" \
                    "end of $data/logs/$node.log:"
                tail -n 8 "$data/logs/$node.log" | sed 's/^/    /'
                if [ "$(echo $crashes | wc -w)" -ge 5 ]; then
                    say "the $node stopped 5 times within a minute; stopping the cluster"
                    stopping=1
                    stop_all
                    exit 1
                fi
                if "$cluster" start "$node" --dir "$data" >/dev/null 2>"$data/.start"; then
                    say "restarted the $node (pid $(cat "$data/run/$node.pid"))"
                else
                    sed 's/^/    /' "$data/.start"
                    say "the $node did not come up again; stopping the cluster"
                    stopping=1
                    stop_all
                    exit 1
                fi
                ;;
        esac
    done
    sleep 1 &
    sleeper=$!
    wait "$sleeper"
    sleeper=""
done
