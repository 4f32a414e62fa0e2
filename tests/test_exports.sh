#!/bin/sh
# libzcqrs.so exports exactly the public API: every function a public header
# declares (lib/zcqrs.h and the headers it includes) is defined and exported,
# and no function of a private header is.
# usage: sh tests/test_exports.sh BUILD_DIR
set -u
build=${1:-build}
library="$build/libzcqrs.so"
[ -e "$library" ] || { echo "test_exports: no $library (build first)"; exit 1; }
scratch=$(mktemp -d "${TMPDIR:-/tmp}/zcq-exports.XXXXXX") || exit 1
trap 'rm -rf "$scratch"' EXIT

# Declarations in the house layout: the name line "    zcq_name (" of each,
# except a line that continues a macro (a call in its body, as
# ZCQ_MPACK_TAKE_PACKED's of the inline zcq_mpack_take_bytes)
declared () {
    awk 'prev !~ /\\$/ && match($0, /^    zcq_[a-z0-9_]* \(/) {
        print substr($0, 5, RLENGTH - 6)
    }
    { prev = $0 }' "$@" | sort -u
}
public=$(sed -n 's/^#include "\([^"]*\)".*/\1/p' lib/zcqrs.h)
public_files=""
for name in $public; do
    public_files="$public_files $(ls protocol/$name lib/*/$name 2>/dev/null | head -n 1)"
done
# shellcheck disable=SC2086
declared $public_files >"$scratch/public"
private_files=$(ls protocol/*.h lib/*/*.h | while read -r file; do
    case " $public_files " in *" $file "*) ;; *) echo "$file" ;; esac
done)
# shellcheck disable=SC2086
declared $private_files | comm -23 - "$scratch/public" >"$scratch/private"
nm -D --defined-only "$library" | awk '$2 == "T" {print $3}' | sort -u >"$scratch/exported"

failed=0
missing=$(comm -23 "$scratch/public" "$scratch/exported")
if [ -n "$missing" ]; then
    echo "test_exports: FAILED: public functions that $library does not export (declared in a"
    echo "public header but not defined, or left out of its version script):"
    echo "$missing" | sed 's/^/    /'
    failed=1
fi
leaked=$(comm -12 "$scratch/private" "$scratch/exported")
if [ -n "$leaked" ]; then
    echo "test_exports: FAILED: private functions $library exports:"
    echo "$leaked" | sed 's/^/    /'
    failed=1
fi
[ "$(wc -l <"$scratch/public")" -gt 100 ] && [ "$(wc -l <"$scratch/private")" -gt 50 ] || {
    echo "test_exports: FAILED: found only $(wc -l <"$scratch/public") public and" \
        "$(wc -l <"$scratch/private") private declarations; the header layout changed?"
    failed=1
}
[ "$failed" -eq 0 ] && echo "test_exports: $library exports the $(wc -l <"$scratch/public")" \
    "public functions and none of the $(wc -l <"$scratch/private") private ones"
exit $failed
