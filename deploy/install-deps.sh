#!/bin/sh
# Install what zcqrs needs from Debian's packages, only if something is missing.
# Used by `make run` and `make test`; safe to run again. Needs root or sudo.
# `install-deps.sh peers` also installs what `make bench-peers` and
# `make bench-instr` compare and measure with: Redis 7 + hiredis, NATS
# JetStream + libnats, PostgreSQL 15 + libpq, valgrind.
set -eu

PACKAGES="build-essential pkg-config libzmq3-dev libczmq-dev libmsgpack-dev \
libleveldb-dev libsodium-dev libcmocka-dev python3 python3-zmq python3-msgpack iproute2 procps \
clang libclang-rt-14-dev clang-format help2man libmicrohttpd-dev chromium \
python3-prometheus-client python3-mypy python3-pip python3-setuptools libraft-dev libuv1-dev"
if [ "${1:-}" = "peers" ]; then
    PACKAGES="$PACKAGES redis-server libhiredis-dev nats-server libnats-dev postgresql-15 \
libpq-dev valgrind"
fi

missing=""
for package in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $package"
    fi
done
[ -z "$missing" ] && exit 0

echo "deploy/install-deps.sh: installing:$missing"
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "deploy/install-deps.sh: need root (or sudo) to install:$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
