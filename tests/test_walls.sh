#!/bin/sh
# The walls between the parts of the library (docs/layout.md), checked:
#
#   1. only lib/store/ calls LevelDB (leveldb_*, <leveldb/...>);
#   2. the query side (lib/query/) includes no write-side header (lib/write/)
#      and the write side none of the query side;
#   3. a domain (lib/domain/) includes no header of the store, the sockets
#      (czmq, libzmq), the nodes or the client, and calls no socket function;
#   4. protocol/ includes nothing from lib/;
#   5. the store and the client include nothing of the write or query side,
#      and the store calls no socket function;
#   6. the programs (nodes/, cli/) and examples/ include only the public
#      header, zcqrs.h, and the console (console/) only zcqrs.h and its own
#      headers;
#   7. every header the public header includes is public: it includes only
#      other public headers.
#
# Headers are included by name; a name is resolved to the folder that holds
# it. Then each rule is broken on purpose in a copy of the tree, and the
# check must fail there: a wall check that cannot fail proves nothing.
# usage: tests/test_walls.sh [BUILD]   (BUILD is not used)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)

# check_walls ROOT: print every violation under ROOT; exit status 1 if any.
check_walls () {
    root=$1
    (
        cd "$root" || exit 2
        # name -> folder, for every header of the project
        map=$(find protocol lib console -name '*.h' | awk -F/ '{name=$NF; $NF=""; dir=$0; gsub(/ /,"/",dir); sub(/\/$/,"",dir); print name, dir}')
        # "file folder-of-included-header" for every project include
        includes=$(find protocol lib nodes cli examples console -name '*.[ch]' | sort | while read -r file; do
            sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$file" \
                | while read -r name; do
                    dir=$(printf '%s\n' "$map" | awk -v n="$(basename "$name")" '$1 == n {print $2; exit}')
                    printf '%s %s %s\n' "$file" "${dir:-?}" "$name"
                done
        done)
        bad=0
        say () { echo "wall: $*"; bad=1; }

        # 1. LevelDB only in the store
        for file in $(grep -rlE 'leveldb_[a-z]|<leveldb/' protocol lib nodes cli examples console \
                      --include='*.[ch]' | grep -v '^lib/store/'); do
            say "$file uses LevelDB; only lib/store/ may"
        done
        # 2-6. includes, by the folder of the included header
        printf '%s\n' "$includes" | while read -r file dir name; do
            [ -n "$file" ] || continue
            case "$file:$dir" in
                lib/query/*:lib/write) echo "wall: $file (query side) includes $name (write side)" ;;
                lib/write/*:lib/query) echo "wall: $file (write side) includes $name (query side)" ;;
                lib/domain/*:lib/store | lib/domain/*:lib/node | lib/domain/*:lib/client \
                | lib/domain/*:lib/write | lib/domain/*:lib/query)
                    echo "wall: $file (a domain) includes $name ($dir)" ;;
                protocol/*:lib | protocol/*:lib/*) echo "wall: $file (protocol) includes $name ($dir)" ;;
                lib/store/*:lib/write | lib/store/*:lib/query | lib/client/*:lib/write \
                | lib/client/*:lib/store)
                    echo "wall: $file includes $name ($dir)" ;;
                nodes/*:* | cli/*:* | examples/*:*)
                    [ "$name" = zcqrs.h ] || echo "wall: $file includes $name; programs and examples use zcqrs.h only" ;;
                console/*:console) ;;
                console/*:*)
                    [ "$name" = zcqrs.h ] || echo "wall: $file includes $name; the console uses zcqrs.h and its own headers only" ;;
            esac
        done | grep . && bad=1
        for file in $(grep -lE '#[[:space:]]*include[[:space:]]*<(czmq|zmq|leveldb/c)\.h>' \
                      lib/domain/*.[ch] 2>/dev/null); do
            say "$file (a domain) includes a socket or store header"
        done
        for file in $(grep -lE '\b(zsock|zmq|zactor|zpoller|zloop|zframe|zmsg)_[a-z]+ *\(' \
                      lib/domain/*.[ch] lib/store/*.[ch] 2>/dev/null); do
            say "$file calls a socket function; domains and the store never do"
        done
        # 7. the public header's own includes stay public
        public=$(sed -n 's/^#include "\([^"]*\)".*/\1/p' lib/zcqrs.h)
        for name in $public; do
            dir=$(printf '%s\n' "$map" | awk -v n="$name" '$1 == n {print $2; exit}')
            [ -n "$dir" ] || { say "lib/zcqrs.h includes $name, which is not in the tree"; continue; }
            for inner in $(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$dir/$name"); do
                printf '%s\n' "$public" | grep -qx "$inner" \
                    || say "$dir/$name is public but includes $inner, which zcqrs.h does not export"
            done
        done
        exit $bad
    )
}

failed=0
if check_walls "$top"; then
    echo "test_walls: the tree keeps every wall"
else
    echo "test_walls: FAILED: the tree breaks a wall (above)"
    failed=1
fi

# Break each wall in a copy of the tree: the check must see it
scratch=$(mktemp -d "${TMPDIR:-/tmp}/zcq-walls.XXXXXX") || exit 1
trap 'rm -rf "$scratch"' EXIT
breaks="lib/query/zcq_feed.c:#include \"zcq_log.h\"
lib/write/zcq_group.c:#include \"zcq_feed.h\"
lib/domain/zcq_event.c:#include \"zcq_store.h\"
lib/domain/zcq_event.c:#include <czmq.h>
lib/domain/zcq_event.c:static void s_x (void) { zsock_destroy (0); }
lib/client/zcq_json.c:#include \"zcq_store.h\"
lib/client/zcq_json.c:static void s_x (void) { leveldb_free (0); }
protocol/zcq_text.c:#include \"zcq_map.h\"
nodes/zcqrs_write.c:#include \"zcq_log.h\"
console/zcq_web.c:#include \"zcq_metrics.h\"
console/zcq_cluster.c:#include \"zcq_client.h\"
lib/domain/zcq_view.h:#include \"zcq_store.h\"
lib/write/zcq_write_node.h:#include \"zcq_log.h\""
printf '%s\n' "$breaks" | while IFS= read -r line; do
    file=${line%%:*}
    text=${line#*:}
    rm -rf "$scratch/tree"
    mkdir -p "$scratch/tree"
    (cd "$top" && cp -R protocol lib nodes cli examples console "$scratch/tree/")
    printf '%s\n' "$text" >>"$scratch/tree/$file"
    if check_walls "$scratch/tree" >/dev/null; then
        echo "test_walls: FAILED: adding '$text' to $file went unnoticed"
        exit 1
    fi
done || failed=1
[ "$failed" -eq 0 ] && echo "test_walls: each of the 13 planted violations was caught"
exit $failed
