#!/bin/sh
# make install into a temporary DESTDIR, then use what it installed the way
# a C user would, then make uninstall:
#
#   1. the tree holds exactly what install should write: the programs, the
#      library (soname libzcqrs.so.MAJOR, the version of lib/zcqrs.h), the
#      public headers (lib/zcqrs.h and what it includes, no other), zcqrs.pc,
#      a man page per program, the systemd units pointing at the programs;
#   2. each man page renders without a warning and lists every option its
#      program's --help prints;
#   3. examples/counter_domain.c (a domain .so) and examples/hello_client.c
#      build with `pkg-config --cflags --libs zcqrs` and nothing else, and
#      hello_client links the installed libzcqrs.so;
#   4. the installed zcqrs-write, on the installed library, runs the freshly
#      built counter domain: hello_client's commands are accepted;
#   5. make uninstall leaves nothing but empty folders, and leaves alone
#      what it did not install.
#
# usage: tests/test_install.sh BUILD_DIR
# Runs from the plain build only: the sanitizer runtime of build-asan's
# library would have to come first in every program that loads it, the
# example's included.
set -u
build=${1:-build}
case "$build" in
    *asan*) echo "test_install: skipped in $build (installs the plain build)"; exit 0 ;;
esac
top=$(pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/zcq-install-XXXXXX")
root="$tmp/root"
node_pid=""
cleanup () {
    if [ -n "$node_pid" ] && kill -0 "$node_pid" 2>/dev/null; then
        kill -KILL "$node_pid" 2>/dev/null
        wait "$node_pid" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
fail () {
    echo "test_install: FAILED: $*" >&2
    exit 1
}

# What lib/zcqrs.h says, read here on its own
part () { sed -n "s/^#define ZCQRS_VERSION_$1  *\([0-9][0-9]*\)$/\1/p" lib/zcqrs.h; }
major=$(part MAJOR)
version="$major.$(part MINOR).$(part PATCH)"
public=$(sed -n 's/^#include "\([^"]*\)".*/\1/p' lib/zcqrs.h)
prefix=/usr/local
bin="$root$prefix/bin"
lib="$root$prefix/lib"
include="$root$prefix/include/zcqrs"
programs="zcqrs zcqrs-write zcqrs-query zcqrs-console"

timeout 240 make --no-print-directory -s BUILD="$build" install DESTDIR="$root" >"$tmp/install.log" 2>&1 \
    || { cat "$tmp/install.log" >&2; fail "make install"; }

# --- 1. The tree -----------------------------------------------------------------
listing () { (cd "$root" && find . ! -type d | sed 's|^\.||' | sort); }
{
    for program in $programs; do
        echo "$prefix/bin/$program"
        echo "$prefix/share/man/man1/$program.1"
    done
    for name in libzcqrs.so "libzcqrs.so.$major" "libzcqrs.so.$version" libzcqrs.a \
                pkgconfig/zcqrs.pc systemd/system/zcqrs-write.service \
                systemd/system/zcqrs-query@.service; do
        echo "$prefix/lib/$name"
    done
    for header in zcqrs.h $public; do
        echo "$prefix/include/zcqrs/$header"
    done
    echo "$prefix/share/zcqrs/install-manifest"
    echo "$prefix/share/bash-completion/completions/zcqrs"
} | sort >"$tmp/expected"
listing >"$tmp/installed"
diff "$tmp/expected" "$tmp/installed" >"$tmp/tree.diff" \
    || { sed 's/^/    /' "$tmp/tree.diff" >&2; fail "the installed tree is not what it should be (<: missing, >: extra)"; }
# No private header: every header installed includes only installed ones
for header in "$include"/*.h; do
    for name in $(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$header"); do
        [ -f "$include/$name" ] || fail "$(basename "$header") includes $name, which is not installed"
    done
done
soname=$(readelf -d "$lib/libzcqrs.so.$version" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libzcqrs.so.$major" ] || fail "soname is '$soname', not libzcqrs.so.$major"
[ "$(readlink "$lib/libzcqrs.so.$major")" = "libzcqrs.so.$version" ] \
    || fail "libzcqrs.so.$major does not point at libzcqrs.so.$version"
[ "$(readlink "$lib/libzcqrs.so")" = "libzcqrs.so.$major" ] \
    || fail "libzcqrs.so does not point at libzcqrs.so.$major"
for program in $programs; do
    readelf -d "$bin/$program" | grep -q "(NEEDED).*\[libzcqrs.so.$major\]" \
        || fail "$program does not link libzcqrs.so.$major"
done
for unit in zcqrs-write.service zcqrs-query@.service; do
    file="$lib/systemd/system/$unit"
    grep -q '@[A-Z]*@' "$file" && fail "$unit still has a placeholder"
    command=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$file")
    [ -x "$root$command" ] || fail "$unit runs $command, which install did not put there"
done
grep -qx "Version: $version" "$lib/pkgconfig/zcqrs.pc" || fail "zcqrs.pc is not version $version"

# --- 2. The man pages ------------------------------------------------------------
for program in $programs; do
    page="$root$prefix/share/man/man1/$program.1"
    warnings=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
    [ -z "$warnings" ] || fail "$program.1 does not render cleanly: $warnings"
    if command -v man >/dev/null 2>&1; then
        text=$(LC_ALL=C MANWIDTH=300 MANPAGER=cat man -l "$page" 2>&1) || fail "man -l $program.1"
    else
        text=$(LC_ALL=C groff -man -Tascii -P-cbou "$page" 2>&1)
    fi
    # The page's name line is man/NAME.h2m's; its options are the --help's
    name=$(sed -n '/^\[NAME\]/{n;p;}' "man/$program.h2m" | sed 's/\\-/-/g')
    printf '%s\n' "$text" | grep -qF -- "$name" || fail "$program.1 lacks its NAME: $name"
    for option in $(LD_LIBRARY_PATH="$lib" "$bin/$program" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
        printf '%s\n' "$text" | grep -qF -- "$option" || fail "$program.1 does not list $option"
    done
done

# --- 3. The examples, against the installed tree only ----------------------------
mkdir "$tmp/src"
cp examples/counter_domain.c examples/hello_client.c "$tmp/src/"
unset CPATH C_INCLUDE_PATH LIBRARY_PATH PKG_CONFIG_LIBDIR
export PKG_CONFIG_SYSROOT_DIR="$root" PKG_CONFIG_PATH="$lib/pkgconfig"
flags=$(pkg-config --cflags --libs zcqrs) || fail "pkg-config --cflags --libs zcqrs"
case " $flags " in
    *" -I$include "*" -lzcqrs "*) ;;
    *) fail "pkg-config gives '$flags': no -I$include or -lzcqrs" ;;
esac
cd "$tmp/src" || fail "no $tmp/src"
# shellcheck disable=SC2086
cc -std=c11 -Wall -Wextra -Werror -shared -fPIC -o libcounter.so counter_domain.c $flags \
    || fail "counter_domain.c does not build against the installed tree"
# shellcheck disable=SC2086
cc -std=c11 -Wall -Wextra -Werror -o hello_client hello_client.c $flags \
    || fail "hello_client.c does not build against the installed tree"
cd "$top" || exit 1
unset PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_PATH
readelf -d "$tmp/src/hello_client" | grep -q "(NEEDED).*\[libzcqrs.so.$major\]" \
    || fail "hello_client does not link libzcqrs.so.$major"
LD_LIBRARY_PATH="$lib" ldd "$tmp/src/hello_client" | grep -q "libzcqrs.so.$major => $lib/" \
    || fail "hello_client does not load the installed libzcqrs.so"

# --- 4. The installed write node runs the counter domain ------------------------
LD_LIBRARY_PATH="$lib" "$bin/zcqrs-write" --commands "ipc://$tmp/commands" \
    --events "ipc://$tmp/events" --replay "ipc://$tmp/replay" --data "$tmp/data" \
    --domain "$tmp/src/libcounter.so" >"$tmp/node.log" 2>&1 &
node_pid=$!
tries=0
until [ -S "$tmp/commands" ]; do
    kill -0 "$node_pid" 2>/dev/null || { cat "$tmp/node.log" >&2; fail "zcqrs-write exited"; }
    tries=$((tries + 1))
    [ "$tries" -le 100 ] || fail "zcqrs-write did not bind ipc://$tmp/commands in 10 s"
    sleep 0.1
done
grep -q "$lib/libzcqrs.so.$version" "/proc/$node_pid/maps" \
    || fail "zcqrs-write did not load the installed libzcqrs.so"
send () {
    LD_LIBRARY_PATH="$lib" timeout 30 "$tmp/src/hello_client" "ipc://$tmp/commands" "$@"
}
reply=$(send Increment counter-1 by=5) || fail "hello_client: '$reply'"
case "$reply" in
    '{"status":"accepted","version":1,"position":1,"count":1,'*) ;;
    *) fail "first Increment answered '$reply'" ;;
esac
reply=$(send Increment counter-1 by=2) || fail "hello_client: '$reply'"
case "$reply" in
    '{"status":"accepted","version":2,"position":2,"count":1,'*) ;;
    *) fail "second Increment answered '$reply'" ;;
esac
reply=$(send Increment counter-1 by=-1)
[ $? -eq 1 ] || fail "a negative increment was not refused: '$reply'"
case "$reply" in
    '{"status":"invalid",'*) ;;
    *) fail "a negative increment answered '$reply'" ;;
esac
kill -TERM "$node_pid"
tries=0
while kill -0 "$node_pid" 2>/dev/null; do
    tries=$((tries + 1))
    [ "$tries" -le 100 ] || fail "zcqrs-write did not stop on SIGTERM in 10 s"
    sleep 0.1
done
wait "$node_pid" || { cat "$tmp/node.log" >&2; fail "zcqrs-write exited with $?"; }
node_pid=""

# --- 5. Uninstall ------------------------------------------------------------
# Files install did not write, in folders it wrote to, must stay
echo other >"$bin/someone-else"
echo other >"$include/../someone-else.h"
timeout 60 make --no-print-directory -s BUILD="$build" uninstall DESTDIR="$root" >"$tmp/uninstall.log" 2>&1 \
    || { cat "$tmp/uninstall.log" >&2; fail "make uninstall"; }
left=$(listing)
[ "$left" = "$(printf '%s\n' "$prefix/bin/someone-else" "$prefix/include/someone-else.h")" ] \
    || fail "after uninstall: $(printf '%s' "$left" | tr '\n' ' ') (want only the two others' files)"
echo "test_install: ok ($(wc -l <"$tmp/expected") files installed and removed, version $version)"
