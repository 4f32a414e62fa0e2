#!/bin/sh
# tests/test_cli.sh - drive the zcqrs CLI against a real write node and two
# real query nodes.
#
#   usage: sh tests/test_cli.sh BUILD_DIR
#
# The nodes listen on ipc:// endpoints in a fresh temporary folder (never the
# default TCP ports, so the test runs beside `make run` and beside itself).
# Every wait is bounded: each CLI call runs under `timeout`, each node under
# `timeout` too, so nothing outlives the test. On any exit the trap stops
# exactly the processes this script started and removes the folder.
# Prints one line per failed check; exits 0 only if every check passed.
set -u

build=${1:-build}
case $build in
    /*) ;;
    *) build=$(pwd)/$build ;;
esac
top=$(cd "$(dirname "$0")/.." && pwd)
python=/usr/bin/python3
[ -x "$python" ] || python=python3

for binary in zcqrs zcqrs-write zcqrs-query; do
    if [ ! -x "$build/$binary" ]; then
        echo "test_cli: $build/$binary is missing (run make first)" >&2
        exit 1
    fi
done

dir=$(mktemp -d "${TMPDIR:-/tmp}/zcq-cli.XXXXXX") || exit 1
pids=""             # PIDs this script started (each a `timeout` around a node)
failures=0          # checks that failed
checks=0            # checks run

# True if the process runs (a zombie counts as gone).
alive () {
    state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    case $state in
        Z*|"") return 1 ;;
    esac
    return 0
}

cleanup () {
    for pid in $pids; do
        kill -TERM "$pid" 2>/dev/null
    done
    for pid in $pids; do
        tries=0
        while alive "$pid" && [ "$tries" -lt 50 ]; do
            sleep 0.1
            tries=$((tries + 1))
        done
        alive "$pid" && kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    pids=""
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

commands=ipc://$dir/commands
events=ipc://$dir/events
replay=ipc://$dir/replay
query1=ipc://$dir/queries-1
query2=ipc://$dir/queries-2
nobody=ipc://$dir/nobody
other_commands=ipc://$dir/other-commands
other_events=ipc://$dir/other-events
other_replay=ipc://$dir/other-replay

# --- Checks -------------------------------------------------------------------

fail () {
    failures=$((failures + 1))
    echo "FAIL: $*"
}

# zcqrs with this cluster's endpoints; sets out (stdout), err (stderr), rc
cli () {
    out=$(timeout -k 2 15 "$build/zcqrs" --commands "$commands" --events "$events" \
          --replay "$replay" --timeout 3000 "$@" 2>"$dir/stderr")
    rc=$?
    err=$(cat "$dir/stderr")
}

# expect_rc N WHAT: the last cli call exited with N
expect_rc () {
    checks=$((checks + 1))
    if [ "$rc" -ne "$1" ]; then
        fail "$2: exit code $rc, expected $1; stdout: $out; stderr: $err"
        return 1
    fi
    return 0
}

# field PATH [LINE]: a field of the JSON line LINE (1 = first) of $out;
# PATH is dot-separated keys and array indexes ("result.0.id"). Strings
# print bare, anything else as JSON; "<missing>" or "<not json>" if absent.
field () {
    printf '%s\n' "$out" | "$python" -c '
import json, sys
lines = [line for line in sys.stdin.read().splitlines() if line.strip()]
index = int(sys.argv[2]) - 1 if len(sys.argv) > 2 else 0
try:
    value = json.loads(lines[index])
except (IndexError, ValueError):
    print("<not json>")
    sys.exit(0)
for key in sys.argv[1].split("."):
    try:
        value = value[int(key)] if isinstance(value, list) else value[key]
    except (KeyError, IndexError, ValueError, TypeError):
        print("<missing>")
        sys.exit(0)
print(value if isinstance(value, str) else json.dumps(value))
' "$@"
}

# expect PATH VALUE WHAT [LINE]: a field of $out has this value
expect () {
    checks=$((checks + 1))
    got=$(field "$1" "${4:-1}")
    if [ "$got" != "$2" ]; then
        fail "$3: $1 is '$got', expected '$2'; stdout: $out"
    fi
}

# expect_stderr_has TEXT WHAT: the last call's stderr contains TEXT
expect_stderr_has () {
    checks=$((checks + 1))
    case $err in
        *"$1"*) ;;
        *) fail "$2: stderr '$err' does not contain '$1'" ;;
    esac
}

# A send that must come back with this status, version and position
expect_reply () {   # WHAT RC STATUS VERSION POSITION
    if expect_rc "$2" "$1"; then
        expect status "$3" "$1"
        expect version "$4" "$1"
        expect position "$5" "$1"
    fi
}

# --- Nodes --------------------------------------------------------------------

# start NAME PROGRAM ARGS...: run a node (at most 60 s) with output in NAME.out
start () {
    name=$1
    shift
    timeout -k 2 60 "$@" >"$dir/$name.out" 2>&1 &
    pids="$pids $!"
    last_pid=$!
}

# wait_ready NAME PID: wait (at most 15 s) for the node's "ready" line
wait_ready () {
    tries=0
    while [ "$tries" -lt 150 ]; do
        grep -q " zcqrs-[a-z]* ready " "$dir/$1.out" 2>/dev/null && return 0
        if ! alive "$2"; then
            echo "FAIL: $1 node exited at start:"
            sed 's/^/    /' "$dir/$1.out"
            exit 1
        fi
        sleep 0.1
        tries=$((tries + 1))
    done
    echo "FAIL: $1 node did not say ready in 15 s:"
    sed 's/^/    /' "$dir/$1.out"
    exit 1
}

mkdir -p "$dir/data" || exit 1

start write "$build/zcqrs-write" --commands "$commands" --events "$events" \
    --replay "$replay" --data "$dir/data/write" --heartbeat 100 --backups "$dir/backups"
pid_write=$last_pid
wait_ready write "$pid_write"
start query-1 "$build/zcqrs-query" --events "$events" --replay "$replay" \
    --queries "$query1" --data "$dir/data/query-1"
pid_query1=$last_pid
start query-2 "$build/zcqrs-query" --events "$events" --replay "$replay" \
    --queries "$query2" --data "$dir/data/query-2"
pid_query2=$last_pid
wait_ready query-1 "$pid_query1"
wait_ready query-2 "$pid_query2"

# --- status -------------------------------------------------------------------

cli status --node "$query1" --node "$query2"
if expect_rc 0 "status of three nodes"; then
    checks=$((checks + 1))
    lines=$(printf '%s\n' "$out" | grep -c .)
    [ "$lines" -eq 3 ] || fail "status: $lines lines, expected 3: $out"
    expect endpoint "$commands" "status line 1" 1
    expect result.role write "status line 1" 1
    expect endpoint "$query1" "status line 2" 2
    expect result.role query "status line 2" 2
    expect endpoint "$query2" "status line 3" 3
    expect result.role query "status line 3" 3
    for line in 1 2 3; do
        expect status ok "status line $line" "$line"
    done
fi

# --- Commands: accepted and refused --------------------------------------------

cli send OpenAccount acc-1 owner=alice --expect 0
expect_reply "open acc-1" 0 accepted 1 1
cli send Deposit acc-1 amount=100
expect_reply "deposit 100" 0 accepted 2 2
cli send Withdraw acc-1 amount=30 --expect 2
expect_reply "withdraw 30 at version 2" 0 accepted 3 3

cli send Withdraw acc-1 amount=1000
expect_reply "overdraft" 1 rejected 3 3
cli send Deposit acc-1 amount=5 --expect 1
expect_reply "deposit with a wrong --expect" 1 conflict 3 3
cli send OpenAccount acc-1 owner=bob --expect 0
expect_reply "--expect 0 on an existing stream" 1 conflict 3 3
cli send Deposit acc-1 amount=-5
expect_rc 1 "amount=-5" && expect status invalid "amount=-5"
cli send Deposit acc-1 amount=abc
expect_rc 1 "amount=abc" && expect status invalid "amount=abc"
cli send Frobnicate acc-1 amount=1
expect_rc 1 "unknown command type" && expect status unknown "unknown command type"

cli send OpenAccount acc-2 owner=bob
expect_reply "open acc-2" 0 accepted 1 4

# --- Queries on both query nodes ------------------------------------------------

for node in "$query1" "$query2"; do
    cli query account id=acc-1 --node "$node" --min-position 4
    if expect_rc 0 "account on $node"; then
        expect status ok "account on $node"
        expect position 4 "account on $node"
        expect result.balance 70 "account on $node"
        expect result.owner alice "account on $node"
        expect result.version 3 "account on $node"
    fi
    cli query totals --node "$node" --min-position 4
    if expect_rc 0 "totals on $node"; then
        expect result.accounts 2 "totals on $node"
        expect result.balance 70 "totals on $node"
        expect result.events 4 "totals on $node"
    fi
    cli query accounts-by-owner owner=alice --node "$node" --min-position 4
    if expect_rc 0 "accounts-by-owner on $node"; then
        expect result '[{"id": "acc-1", "balance": 70, "status": "open"}]' \
            "accounts-by-owner on $node"
    fi
done

cli query account idx=3 --node "$query1"
expect_rc 1 "query with a bad param" && expect status invalid "query with a bad param"
cli query account id=acc-9 --node "$query1" --min-position 4
expect_rc 1 "query of a missing account" && expect status not_found "missing account"
cli query no-such-query --node "$query2"
expect_rc 1 "unknown query" && expect status unknown "unknown query"

# --- A command id twice: one outcome, appended once -----------------------------

id=0123456789abcdef0123456789abcdef
cli send Deposit acc-2 amount=7 --id "$id"
expect_reply "deposit with --id" 0 accepted 2 5
cli send Deposit acc-2 amount=7 --id "$id"
expect_reply "the same --id again" 0 accepted 2 5
expect id "$id" "the same --id again"
cli query totals --node "$query2" --min-position 5
if expect_rc 0 "totals after a repeated --id"; then
    expect result.events 5 "totals after a repeated --id"
    expect result.balance 77 "totals after a repeated --id"
fi

# --- tail: every event, in order, dense positions --------------------------------

cli tail --from 1 --idle 500
if expect_rc 0 "tail --from 1"; then
    checks=$((checks + 1))
    summary=$(printf '%s\n' "$out" | "$python" -c '
import json, sys
events = [json.loads(line) for line in sys.stdin if line.strip()]
print(" ".join("%d:%s:%d:%s" % (e["position"], e["stream"], e["version"], e["type"])
               for e in events))')
    wanted="1:acc-1:1:AccountOpened 2:acc-1:2:MoneyDeposited 3:acc-1:3:MoneyWithdrawn"
    wanted="$wanted 4:acc-2:1:AccountOpened 5:acc-2:2:MoneyDeposited"
    [ "$summary" = "$wanted" ] || fail "tail --from 1: got '$summary', expected '$wanted'"
fi
cli tail --from 4 --count 1
expect_rc 0 "tail --from 4 --count 1" && expect position 4 "tail --from 4 --count 1"

# --- tail with filters: only what they take; without --follow it ends at the head

positions () {
    printf '%s\n' "$out" | "$python" -c '
import json, sys
print(" ".join(str(json.loads(line)["position"]) for line in sys.stdin if line.strip()))'
}
tail_takes () {
    wanted=$1
    shift
    cli tail "$@"
    if expect_rc 0 "tail $*"; then
        checks=$((checks + 1))
        got=$(positions)
        [ "$got" = "$wanted" ] || fail "tail $*: got positions '$got', expected '$wanted'"
    fi
}
tail_takes "4 5" --stream acc-2
tail_takes "1 2 3 4 5" --category acc
tail_takes "2 5" --category acc --type MoneyDeposited
tail_takes "1 4" --type AccountOpened
tail_takes "3" --type MoneyWithdrawn --type NoSuchEvent
tail_takes "5" --stream acc-2 --type MoneyDeposited --from 2
tail_takes "" --category nosuch
tail_takes "1 2 3 4 5" --since -1d
tail_takes "4 5" --stream acc-2 --since 2000-01-01T00:00:00+01:00
tail_takes "" --since 2099-01-01

# --- delete: a tombstone, then refusals; replay hides the data --------------------

cli delete acc-2
expect_rc 0 "delete acc-2" && expect status accepted "delete acc-2" && expect position 6 \
    "delete acc-2"
cli send Deposit acc-2 amount=1
expect_rc 1 "deposit to a deleted stream" && expect status rejected "deposit to a deleted stream"
cli delete
expect_rc 2 "delete without a stream"
# The write node hides the data once the tombstone is written: poll, bounded
tries=0
while :; do
    cli tail --from 4 --count 1
    [ "$(field meta.deleted)" = 6 ] || [ "$tries" -ge 50 ] && break
    tries=$((tries + 1))
    sleep 0.1
done
expect meta.deleted 6 "tail of a deleted stream's event" && expect data "{}" \
    "tail of a deleted stream's event"

# --- No node: exit code 3 -------------------------------------------------------

cli --commands "$nobody" --timeout 300 send Deposit acc-1 amount=1
expect_rc 3 "send to an endpoint with no node"
cli query totals --node "$nobody" --timeout 300
expect_rc 3 "query to an endpoint with no node"
# Several nodes, one of them silent: the query is spread, the silent one skipped
# (acc-2 was deleted at position 6: only acc-1's 3 events are left in the totals)
for nodes in "$nobody,$query1" "--node $nobody --node $query2"; do
    case $nodes in
        --node*) cli query totals $nodes --min-position 6 --timeout 2000 ;;
        *) cli query totals --node "$nodes" --min-position 6 --timeout 2000 ;;
    esac
    expect_rc 0 "query spread over $nodes" && expect result.events 3 "query spread over $nodes"
done
cli status --node "$query1" --node "$nobody" --timeout 300
if expect_rc 3 "status with one node missing"; then
    expect status unreachable "status of the missing node" 3
fi

# --- Backup ----------------------------------------------------------------------

cli backup nightly
if expect_rc 0 "backup nightly"; then
    expect result.path "$dir/backups/nightly" "backup nightly"
    checks=$((checks + 1))
    [ -f "$dir/backups/nightly/CURRENT" ] || fail "backup nightly: no LevelDB folder there"
fi
cli backup nightly
expect_rc 1 "the same backup name again" && expect status unavailable "the same backup name again" \
    && expect_stderr_has "already exists" "the same backup name again"
cli backup ../elsewhere
expect_rc 1 "a backup name with a slash" && expect status invalid "a backup name with a slash"
cli backup one two
expect_rc 2 "backup with two names"

# --- Cluster identity ------------------------------------------------------------

# Every node says which cluster it is of: the write node its log's, a query
# node the one it follows
cli status --node "$query1"
if expect_rc 0 "status for the cluster ids"; then
    cluster=$(field result.cluster 1)
    checks=$((checks + 1))
    case $cluster in
        [0-9a-f]*) [ ${#cluster} -eq 32 ] || fail "the write node's cluster id '$cluster'" ;;
        *) fail "the write node's cluster id '$cluster'" ;;
    esac
    expect result.cluster "$cluster" "the query node follows the write node's cluster" 2
    checks=$((checks + 1))
    case $err in *"different clusters"*) fail "status of one cluster warned: $err" ;; esac
fi
# Another cluster's write node beside this cluster's query node: a warning
# that names each node's cluster
start other "$build/zcqrs-write" --commands "$other_commands" --events "$other_events" \
    --replay "$other_replay" --data "$dir/data/other-write"
pid_other=$last_pid
wait_ready other "$pid_other"
cli --commands "$other_commands" status --node "$query1"
if expect_rc 0 "status of nodes of two clusters"; then
    expect_stderr_has "these nodes belong to different clusters" "status of two clusters"
    expect_stderr_has "$query1  cluster $cluster" "status of two clusters names each"
fi
kill "$pid_other" 2>/dev/null

# --- Usage errors: exit code 2 ---------------------------------------------------

usage () {
    cli "$@"
    expect_rc 2 "usage error: zcqrs $*"
}
usage
usage frobnicate
usage send
usage send Deposit
usage query
usage send Deposit acc-1 amount=1 --expect abc
usage send Deposit acc-1 amount=1 --id xyz
usage send Deposit acc-1 amount=1 --no-such-option 1
usage query totals --min-position -1
usage tail --from
usage tail --from 0
usage tail --type ""
usage tail --stream
usage tail --since yesterday
usage tail --since 2026-13-01
usage tail --since -5x
usage tail --from 1 --since -1m
usage status --timeout soon

# --- forget: the owner's key destroyed; the account stays, its owner forgotten --

cli forget acc-1
expect_rc 0 "forget acc-1" && expect status accepted "forget acc-1"
forgotten=$(field position)
cli forget
expect_rc 2 "forget without a stream"
cli forget acc-none
expect_rc 1 "forget a stream that does not exist" &&
    expect reason "stream 'acc-none' does not exist" "forget acc-none"
cli query account id=acc-1 --node "$query1" --min-position "$forgotten"
expect_rc 0 "account of a forgotten owner" && expect result.owner null "forgotten owner" &&
    expect result.forgotten '["owner"]' "forgotten owner"
cli tail --from 1 --count 1
checks=$((checks + 1))
expect_rc 0 "tail of a forgotten owner's event" && case $(field data.owner) in
    alice | null | "<missing>") fail "tail shows the forgotten owner as '$(field data.owner)'" ;;
esac

# --- watch: a live query's result at once with its position, then each change --

cli watch account id=acc-1 --node "$query1" --count 1
expect_rc 0 "watch account" && expect status ok "watch account" && expect seq 1 "watch account"
: >"$dir/watch.out" # there before the watcher writes: the loop below reads it
timeout -k 2 15 "$build/zcqrs" watch account id=acc-1 --node "$query1" --count 2 \
    >"$dir/watch.out" 2>"$dir/watch.err" &
watcher=$!
tries=0
while [ "$(wc -l <"$dir/watch.out")" -lt 1 ] && [ "$tries" -lt 100 ]; do
    sleep 0.1   # polling for the first line, bounded
    tries=$((tries + 1))
done
cli send Deposit acc-1 amount=5
deposited=$(field position)
wait "$watcher"
rc=$?
out=$(cat "$dir/watch.out")
err=$(cat "$dir/watch.err")
if expect_rc 0 "watch until a change"; then
    expect seq 2 "watch: the second result" 2
    expect position "$deposited" "watch: the deposit's position" 2
fi
# Ctrl-C (SIGINT) ends a watch, exit 0
: >"$dir/watch.out"
"$build/zcqrs" watch account id=acc-1 --node "$query1" >"$dir/watch.out" 2>"$dir/watch.err" &
watcher=$!
tries=0
while [ "$(wc -l <"$dir/watch.out")" -lt 1 ] && [ "$tries" -lt 100 ]; do
    sleep 0.1   # polling for the first line, bounded
    tries=$((tries + 1))
done
kill -INT "$watcher"
tries=0
while alive "$watcher" && [ "$tries" -lt 50 ]; do
    sleep 0.1
    tries=$((tries + 1))
done
alive "$watcher" && kill -KILL "$watcher"
wait "$watcher"
rc=$?
out=$(cat "$dir/watch.out")
err=$(cat "$dir/watch.err")
expect_rc 0 "watch ended by Ctrl-C"
cli watch nope --node "$query1"
expect_rc 1 "watch an unknown query" && expect reason "unknown query 'nope' for domain 'bank'" \
    "watch an unknown query"
cli watch
expect_rc 2 "watch without a query name"

# --- Habits from other CLIs: version, help per verb, option errors, hints ------

cli --version
expect_rc 0 "--version" && case $out in
    "zcqrs "[0-9]*.[0-9]*.[0-9]*) ;;
    *) fail "--version printed '$out'" ;;
esac
cli -h
expect_rc 0 "-h" && case $out in
    "Usage: zcqrs "*) ;;
    *) fail "-h printed '$out'" ;;
esac
cli send --help
checks=$((checks + 1))
case $out in
    *"--expect N"*"--id HEX"*) case $out in
        *"--min-position"*) fail "send --help lists query's --min-position" ;;
    esac ;;
    *) fail "send --help does not explain send's options: $out" ;;
esac
cli help tail
checks=$((checks + 1))
case $out in
    *"--from POSITION"*"--count N"*"--idle MS"*) ;;
    *) fail "help tail does not explain --from, --count and --idle: $out" ;;
esac
cli --bogus
expect_rc 2 "--bogus" && expect_stderr_has "unknown option '--bogus'" "--bogus"
cli send Deposit acc-1 amount=1 --bogus
expect_rc 2 "a last --bogus" && expect_stderr_has "unknown option '--bogus'" "a last --bogus"
cli send Deposit acc-1 amount=1 --expect
expect_rc 2 "--expect without a value" && expect_stderr_has "'--expect' needs a value" \
    "--expect without a value"
cli query totals --node localhost:5611
expect_rc 2 "an endpoint without tcp://" &&
    expect_stderr_has "write it as tcp://localhost:5611" "an endpoint without tcp://"
cli tail --from 0
expect_rc 2 "tail --from 0" && expect_stderr_has "positions start at 1" "tail --from 0"
cli tail --from 1000000 --idle 200
expect_rc 2 "tail past the head" && expect_stderr_has "is past the head of the log" \
    "tail past the head"

# Bash completion (deploy/zcqrs.bash-completion, installed by make install):
# the verbs, then the options of that verb's --help
if command -v bash >/dev/null 2>&1; then
    complete_words () {   # WORDS...: what completing the last word offers
        bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _zcqrs;
                 echo "${COMPREPLY[*]}"' _ "$top/deploy/zcqrs.bash-completion" "$build/zcqrs" "$@"
    }
    checks=$((checks + 1))
    [ "$(complete_words st)" = "status" ] || fail "completion of 'st': '$(complete_words st)'"
    checks=$((checks + 1))
    [ "$(complete_words wa)" = "watch" ] || fail "completion of 'wa': '$(complete_words wa)'"
    checks=$((checks + 1))
    case " $(complete_words tail --)" in
        *" --from "*) case " $(complete_words tail --)" in
            *" --expect "*) fail "completion offers send's --expect to tail" ;;
        esac ;;
        *) fail "completion of 'tail --': '$(complete_words tail --)'" ;;
    esac
fi

# The endpoints from the environment, flags over them
out=$(ZCQRS_COMMANDS="$commands" ZCQRS_NODES="$query1,$query2" timeout -k 2 15 \
      "$build/zcqrs" status --timeout 3000 2>"$dir/stderr")
rc=$?
err=$(cat "$dir/stderr")
if expect_rc 0 "status from ZCQRS_COMMANDS and ZCQRS_NODES"; then
    expect endpoint "$commands" "ZCQRS_COMMANDS" 1
    expect endpoint "$query2" "the second of ZCQRS_NODES" 3
fi
out=$(ZCQRS_COMMANDS=localhost:1 timeout -k 2 15 "$build/zcqrs" status 2>"$dir/stderr")
rc=$?
err=$(cat "$dir/stderr")
expect_rc 2 "ZCQRS_COMMANDS without tcp://" &&
    expect_stderr_has "ZCQRS_COMMANDS 'localhost:1' has no transport" "ZCQRS_COMMANDS without tcp://"

# Text for people
cli send OpenAccount habits-1 owner=ann --format text
expect_rc 0 "send --format text" && case $out in
    "accepted: version 1 at position "*" (1 event)") ;;
    *) fail "send --format text printed '$out'" ;;
esac
cli send Withdraw habits-1 amount=5 --format text
expect_rc 1 "a refusal --format text" && case $out in
    "rejected (stream at version 1): insufficient funds"*) ;;
    *) fail "a refusal --format text printed '$out'" ;;
esac
cli send Deposit acc-1 amount=1 --format yaml
expect_rc 2 "--format yaml"

# The bank refuses a field it does not take, by name
cli send Deposit habits-1 amount=5 extra=zzz
if expect_rc 1 "a field Deposit does not take"; then
    expect status invalid "a field Deposit does not take"
    expect_stderr_has "unknown field 'extra' (it takes amount)" "a field Deposit does not take"
fi

# --- A secured write node: a refused key is named at once, not timed out --------

mkdir -p "$dir/keys/allowed"
for name in secure-write alice eve; do
    "$build/zcqrs" keygen "$name" --dir "$dir/keys" >/dev/null || fail "keygen $name"
done
# A name over 128 bytes (the user id events record) is refused by name; 128 is taken
long=$(printf 'k%.0s' $(seq 1 129))
cli keygen "$long" --dir "$dir/keys"
if expect_rc 2 "keygen of a 129-byte name"; then
    expect_stderr_has "is 129 bytes; at most 128" "keygen of a 129-byte name"
fi
[ ! -e "$dir/keys/$long.cert" ] || fail "keygen of a 129-byte name wrote a certificate"
cli keygen "${long%k}" --dir "$dir/keys"
expect_rc 0 "keygen of a 128-byte name"
cp "$dir/keys/alice.cert" "$dir/keys/allowed/"
secure_commands=ipc://$dir/secure-commands
cat >"$dir/secure.zpl" <<EOF
write
    commands = "$secure_commands"
    events = "ipc://$dir/secure-events"
    replay = "ipc://$dir/secure-replay"
    data = "$dir/data/secure-write"
    security
        cert = "$dir/keys/secure-write.cert"
        clients = "$dir/keys/allowed"
        roles
            alice = "commands,query"
EOF
start secure-write "$build/zcqrs-write" --config "$dir/secure.zpl"
pid_secure_write=$last_pid
wait_ready secure-write "$pid_secure_write"

# secure ARGS...: zcqrs against the secured node with a 20 s time-out, so that
# a refusal must come from the handshake, long before it
secure () {
    out=$(timeout -k 2 30 "$build/zcqrs" --commands "$secure_commands" --timeout 20000 "$@" \
          2>"$dir/stderr")
    rc=$?
    err=$(cat "$dir/stderr")
}
started=$(date +%s)
secure send OpenAccount sec-1 owner=ann
expect_rc 1 "no key against a secured node" &&
    expect_stderr_has "secured (CURVE): give --cert FILE" "no key against a secured node"
secure --cert "$dir/keys/eve.cert" --server-key "$dir/keys/secure-write.cert" \
    send OpenAccount sec-1 owner=ann
expect_rc 1 "a key the node does not allow" &&
    expect_stderr_has "refused our key at the CURVE handshake" "a key the node does not allow"
checks=$((checks + 1))
[ $(($(date +%s) - started)) -lt 15 ] || fail "the refused handshakes waited for the time-out"
secure --cert "$dir/keys/alice.cert" --server-key "$dir/keys/secure-write.cert" \
    send OpenAccount sec-1 owner=ann
expect_rc 0 "an allowed key" && expect status accepted "an allowed key"

# --- The store domain, with --json for what field=value cannot say ---------------

store_commands=ipc://$dir/store-commands
store_events=ipc://$dir/store-events
store_replay=ipc://$dir/store-replay
store_queries=ipc://$dir/store-queries
start store-write "$build/zcqrs-write" --commands "$store_commands" --events "$store_events" \
    --replay "$store_replay" --data "$dir/data/store-write" --domain store
pid_store_write=$last_pid
wait_ready store-write "$pid_store_write"
start store-query "$build/zcqrs-query" --events "$store_events" --replay "$store_replay" \
    --queries "$store_queries" --data "$dir/data/store-query" --domain store
pid_store_query=$last_pid
wait_ready store-query "$pid_store_query"

# store CLI-ARGS...: zcqrs against the store cluster
store () {
    out=$(timeout -k 2 15 "$build/zcqrs" --commands "$store_commands" --node "$store_queries" \
          --timeout 3000 "$@" 2>"$dir/stderr")
    rc=$?
    err=$(cat "$dir/stderr")
}
store send Append orders-1 --expect 0 \
    --json '{"events": [{"type": "Placed", "data": {"items": [1, 2], "note": "é"}}, {"type": "Paid"}]}'
expect_reply "store Append" 0 accepted 2 2
expect count 2 "store Append appended both events"
store query stream --json '{"stream": "orders-1", "from": 2}' --min-position 2
expect_rc 0 "store query stream"
expect "result.0.type" "Paid" "store query from version 2"
store query stream --json '{"stream": "orders-1"}' --min-position 2
expect "result.0.data.items.1" "2" "nested data survives the round trip"
expect "result.0.data.note" "é" "unicode survives the round trip"
store send Append orders-1 --json '{"events": []}'
expect_rc 1 "store Append with no events"
store send Append orders-1 --json '{"events": [1'
expect_rc 2 "broken JSON is a usage error"
expect_stderr_has "invalid JSON at offset" "broken JSON names where"
store send Append orders-1 --json '[1]'
expect_rc 2 "--json must be an object"
store send Append orders-1 note=x --json '{}'
expect_rc 2 "--json and field=value together"

# --- The nodes outlived all of it ------------------------------------------------

for pid in $pid_write $pid_query1 $pid_query2 $pid_store_write $pid_store_query; do
    checks=$((checks + 1))
    alive "$pid" || fail "a node (pid $pid) is gone after the checks"
done
cli status --node "$query1" --node "$query2"
expect_rc 0 "status at the end"

echo "test_cli: $checks checks, $failures failed"
[ "$failures" -eq 0 ]
