#!/bin/sh
# tests/test_config.sh - configuration is strict, as the node programs meet it:
# an unknown key or section (in a file or --set) is refused with where it was
# and the nearest known name, a bad value is fatal naming the setting and
# what it accepts, a relative path in a file is taken from the file's
# folder, the shipped configs (deploy/config, deploy/hosts) name only
# known settings, and every line a node prints starts with an ISO 8601 UTC
# time with milliseconds and its level (the level setting leaves some out).
#
#   usage: sh tests/test_config.sh BUILD_DIR
#
# A node started here listens on ipc:// endpoints in a fresh temporary folder
# and is stopped by PID; every call runs under `timeout`.
set -u

build=${1:-build}
case $build in
    /*) ;;
    *) build=$(pwd)/$build ;;
esac
top=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/zcq-config.XXXXXX") || exit 1
pid=""
failures=0
checks=0

cleanup () {
    if [ -n "$pid" ]; then
        kill -TERM "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    fi
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

fail () {
    failures=$((failures + 1))
    echo "FAIL: $*"
}

# run PROGRAM ARGS...: from $dir/cwd; sets rc and err (stderr)
run () {
    program=$1
    shift
    (cd "$dir/cwd" && timeout -k 2 15 "$build/$program" "$@" >"$dir/out" 2>"$dir/err")
    rc=$?
    err=$(cat "$dir/err")
}

# expect RC TEXT WHAT: the last run exited RC and its stderr holds TEXT
expect () {
    checks=$((checks + 1))
    if [ "$rc" -ne "$1" ]; then
        fail "$3: exit $rc, expected $1 (stderr: $err)"
    elif [ -n "$2" ] && ! printf '%s' "$err" | grep -qF -- "$2"; then
        fail "$3: stderr lacks \"$2\": $err"
    fi
}

mkdir -p "$dir/cwd" "$dir/conf"

# --- Unknown names ---------------------------------------------------------------

cat >"$dir/conf/typo.zpl" <<EOF
#   a typo in a key
write
    commands = "ipc://$dir/c"
    hearbeat = 50
EOF
run zcqrs-write --config "$dir/conf/typo.zpl"
expect 2 "typo.zpl line 4: unknown setting 'write/hearbeat' (the nearest known name is 'write/heartbeat')" \
    "a misspelled key"

cat >"$dir/conf/section.zpl" <<EOF
wirte
    data = "$dir/w"
EOF
run zcqrs-write --config "$dir/conf/section.zpl"
expect 2 "section.zpl line 1: unknown section 'wirte' (the nearest known name is 'write')" \
    "a misspelled section"
checks=$((checks + 1))
[ -e "$dir/cwd/var" ] && fail "a refused config still made ./var in the current folder"

cat >"$dir/conf/deep.zpl" <<EOF
write
    security
        roles
            alice = "commands"
        cret = "x"
EOF
run zcqrs-write --config "$dir/conf/deep.zpl"
expect 2 "deep.zpl line 5: unknown setting 'write/security/cret' (the nearest known name is 'write/security/cert')" \
    "a misspelled key two sections down"

cat >"$dir/conf/other.zpl" <<EOF
query
    data = "q"
EOF
run zcqrs-write --config "$dir/conf/other.zpl"
expect 2 "unknown section 'query'" "a query node's section given to the write node"

run zcqrs-write --set write/typo=3
expect 2 "--set write/typo=3: unknown setting 'write/typo' (the nearest known name is" "--set of an unknown key"
run zcqrs-query --set query/slience=3
expect 2 "unknown setting 'query/slience' (the nearest known name is 'query/silence')" \
    "--set of a misspelled query setting"
run zcqrs-console --set console/htp=127.0.0.1:0
expect 2 "unknown setting 'console/htp' (the nearest known name is 'console/http')" \
    "--set of a misspelled console setting"

# --- Bad values --------------------------------------------------------------------

run zcqrs-write --heartbeat abc --data "$dir/w" --commands "ipc://$dir/c"
expect 1 "setting write/heartbeat must be a whole number from 10 to" "a heartbeat that is not a number"
run zcqrs-write --durability fast --data "$dir/w" --commands "ipc://$dir/c"
expect 1 "setting write/durability must be 'sync' or 'async', got 'fast'" "a durability it does not know"
run zcqrs-query --set query/wait=-1 --data "$dir/q"
expect 1 "setting query/wait must be a whole number" "a negative wait"
run zcqrs-write --keys "$dir/w/keys" --data "$dir/w" --commands "ipc://$dir/c"
expect 1 "setting write/keys: '$dir/w/keys' is inside the data folder" "a key folder inside the data folder"
run zcqrs-write --keys "$dir/w" --data "$dir/w" --commands "ipc://$dir/c"
expect 1 "setting write/keys: '$dir/w' is the same folder as the data folder" "the data folder as key folder"

# --- The shipped configs name only known settings -------------------------------

for file in "$top"/deploy/config/*.zpl "$top"/deploy/hosts/*.zpl; do
    case $(basename "$file") in
        write*) program=zcqrs-write ;;
        *) program=zcqrs-query ;;
    esac
    run "$program" --config "$file" --help
    expect 0 "" "$file read by $program"
done

# --- Relative paths are taken from the file's folder ------------------------------

cat >"$dir/conf/relative.zpl" <<EOF
write
    commands = "ipc://$dir/commands"
    events = "ipc://$dir/events"
    replay = "ipc://$dir/replay"
    data = "write-data"
EOF
# start_relative [FLAGS...]: the write node of conf/relative.zpl, from
# $dir/cwd, until it answers (output in $dir/node.out); sets pid
start_relative () {
    (cd "$dir/cwd" && exec timeout -k 2 60 "$build/zcqrs-write" --config ../conf/relative.zpl \
        "$@" >"$dir/node.out" 2>&1) &
    pid=$!
    tries=0
    until timeout -k 2 5 "$build/zcqrs" --commands "ipc://$dir/commands" --timeout 500 status \
            >/dev/null 2>&1; do
        tries=$((tries + 1))
        [ "$tries" -ge 40 ] && break
    done
}

# stop_relative: SIGTERM, and the node must exit 0
stop_relative () {
    kill -TERM "$pid" 2>/dev/null
    wait "$pid"
    code=$?
    pid=""
    checks=$((checks + 1))
    [ "$code" -eq 0 ] || fail "the write node exited $code after SIGTERM"
}

start_relative
checks=$((checks + 1))
if [ ! -d "$dir/conf/write-data" ]; then
    fail "data = \"write-data\" in conf/relative.zpl did not make conf/write-data" \
        "(node output: $(cat "$dir/node.out"))"
fi
checks=$((checks + 1))
[ -e "$dir/cwd/write-data" ] && fail "the relative path was taken from the node's folder"
stop_relative

# --- Logs: ISO 8601 UTC with milliseconds, a level word, every line -------------

iso='^[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]\.[0-9]\{3\}Z'
line="$iso \(error\|warning\|notice\|info\|debug\) "
checks=$((checks + 1))
if grep -v -- "$line" "$dir/node.out" | grep -q .; then
    fail "node output lines without a timestamp and level: $(grep -v -- "$line" "$dir/node.out")"
fi
for text in " info write node serving: " " notice zcqrs-write ready " " info stopped"; do
    checks=$((checks + 1))
    grep -q -- "$text" "$dir/node.out" || fail "the node's output lacks '$text': $(cat "$dir/node.out")"
done
start_relative --log-level warning
stop_relative
checks=$((checks + 1))
grep -q " info " "$dir/node.out" && fail "--log-level warning still printed info lines"
checks=$((checks + 1))
grep -q " zcqrs-write ready " "$dir/node.out" || fail "--log-level warning hid the ready line"

# A refusal at start: once, timestamped, on stderr
run zcqrs-write --heartbeat abc --data "$dir/w" --commands "ipc://$dir/c"
checks=$((checks + 1))
count=$(grep -c "write/heartbeat" "$dir/err")
[ "$count" -eq 1 ] || fail "the refused heartbeat was reported $count times: $err"
checks=$((checks + 1))
grep -q -- "$iso error zcqrs-write: cannot start: setting write/heartbeat" "$dir/err" ||
    fail "the refusal is not one timestamped error line: $err"
run zcqrs-write --log-level loud
expect 1 "setting write/log_level must be 'error', 'warning', 'notice', 'info' or 'debug'" \
    "a log level it does not know"

if [ "$failures" -eq 0 ]; then
    echo "test_config: $checks checks passed"
    exit 0
fi
echo "test_config: $failures of $checks checks failed"
exit 1
