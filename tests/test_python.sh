#!/bin/sh
# tests/test_python.sh - the Python client's tests: its type hints (mypy),
# every protocol vector, the package as pip installs it, the
# retry rules against a scripted peer, and real clusters (bank and store
# domains, write node + query nodes of BUILD_DIR on ipc:// endpoints in fresh
# temporary folders), including the C CLI and the Python client reading each
# other's writes with min_position.
#
#   usage: sh tests/test_python.sh BUILD_DIR
#
# Needs /usr/bin/python3 with python3-zmq and python3-msgpack; installs them
# with deploy/install-deps.sh when missing, and skips (exit 0, saying why)
# only if that is not possible. Bounded: the tests run under `timeout`; the
# nodes they start die with the test process (PR_SET_PDEATHSIG) and live in
# one temporary folder that the trap removes.
set -u

build=${1:-build}
case $build in
    /*) ;;
    *) build=$(pwd)/$build ;;
esac
python=/usr/bin/python3
here=$(cd "$(dirname "$0")/.." && pwd)

# Each module in a process of its own: importing pip and then setuptools in
# one process fails on Debian 12 (setuptools' distutils hack asserts), which
# made this test skip on a machine that has them all
has_modules () {
    [ -x "$python" ] || return 1
    for module in zmq msgpack mypy pip setuptools; do
        "$python" -c "import $module" 2>/dev/null || return 1
    done
}

if ! has_modules; then
    echo "test_python: python3-zmq, -msgpack, -mypy, -pip or -setuptools missing; trying deploy/install-deps.sh"
    "$here/deploy/install-deps.sh" >/dev/null 2>&1
    if ! has_modules; then
        echo "test_python: SKIPPED: $python cannot import zmq, msgpack, mypy, pip and setuptools, and" \
             "deploy/install-deps.sh could not install them (python3-zmq python3-msgpack" \
             "python3-mypy python3-pip python3-setuptools)"
        exit 0
    fi
fi
for binary in zcqrs zcqrs-write zcqrs-query; do
    if [ ! -x "$build/$binary" ]; then
        echo "test_python: $build/$binary is missing (run make first)" >&2
        exit 1
    fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/zcq-python.XXXXXX") || exit 1
tests=""
cleanup () {
    # A signal can end the `wait` below while the tests still run: stop them
    # (timeout passes the signal on to Python; the nodes die with Python)
    if [ -n "$tests" ] && kill -0 "$tests" 2>/dev/null; then
        kill -TERM "$tests" 2>/dev/null
        sleep 0.5
        kill -KILL "$tests" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# The type hints, checked (clients/python/pyproject.toml says how strictly)
cd "$here/clients/python" || exit 1
if ! timeout -k 5 120 "$python" -m mypy --cache-dir "$tmp/mypy-cache" >"$tmp/mypy.out" 2>&1; then
    sed 's/^/    /' "$tmp/mypy.out"
    echo "test_python: FAILED: mypy found type errors"
    exit 1
fi
echo "test_python: $(tail -n 1 "$tmp/mypy.out") (mypy)"

# --foreground: the tests stay in this script's process group, so that a
# signal to the group (tests/run's time-out, Ctrl-C) reaches them and the nodes
cd "$here" || exit 1
ZCQ_BUILD=$build TMPDIR=$tmp timeout --foreground -k 5 240 "$python" -m unittest discover \
    -s clients/python/tests -p 'test_*.py' &
tests=$!
wait "$tests"
rc=$?
[ "$rc" -eq 0 ] || echo "test_python: FAILED (exit $rc)"
exit "$rc"
