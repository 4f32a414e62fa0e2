#!/bin/sh
# make run's launcher as a user meets it: a taken port named with what
# listens on it, a TIME_WAIT not counted as taken, a crashed node started
# again, Ctrl-C stopping every node with exit 0 (tests/launcher_check.py).
# usage: tests/test_launcher.sh BUILD_DIR
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-build}" && pwd) || exit 1
exec /usr/bin/python3 "$top/tests/launcher_check.py" "$build"
