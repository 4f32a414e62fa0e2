#!/bin/sh
# The documents a new user meets first, checked: README's sections come in
# the order its readers need them (what zcqrs is, quick start, the CLI,
# clients, domains, configuration, operations, performance), every link
# from README or docs/ to a file of the repository names a file that is
# there, and the licence is declared where users look for it (LICENSE, the
# spec's header, README).
# usage: tests/test_docs.sh [BUILD_DIR]   (the build is not needed)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
status=0
fail() {
    echo "test_docs: $*" >&2
    status=1
}

# 1. README's top-level sections, in this order (others may sit between)
last=0
for section in "What zcqrs is, and why" "Quick start" "The CLI" "Clients" "Domains" \
    "Configuration reference" "Operations" "Performance" "Developing zcqrs" "License"; do
    line=$(grep -n "^## $section\$" README.md | head -1 | cut -d: -f1)
    if [ -z "$line" ]; then
        fail "README has no section '## $section'"
    elif [ "$line" -lt "$last" ]; then
        fail "README's section '$section' (line $line) comes before the one above it in the list"
    else
        last=$line
    fi
done
for section in "C client" "Python client" "Other languages" "Clusters: deploy/cluster" \
    "Install" "Security" "Backup and restore" "Upgrade" "Troubleshooting"; do
    grep -q "^### $section\$" README.md || fail "README has no section '### $section'"
done
# make run and make test come first of all
head -5 README.md | grep -q '^make run' || fail "README does not start with 'make run'"
head -5 README.md | grep -q '^make test' || fail "README does not start with 'make test'"

# 2. Links to files of the repository resolve (relative to the document)
for doc in README.md docs/*.md; do
    dir=$(dirname "$doc")
    grep -o '](\([^)#:]*\)\(#[^)]*\)\?)' "$doc" | sed 's/^](\([^)#]*\).*/\1/' | sort -u |
        while read -r target; do
            [ -n "$target" ] || continue
            [ -e "$dir/$target" ] || echo "$doc links to $target, which is not there"
        done
done >"${TMPDIR:-/tmp}/test_docs.$$"
if [ -s "${TMPDIR:-/tmp}/test_docs.$$" ]; then
    fail "$(cat "${TMPDIR:-/tmp}/test_docs.$$")"
fi
rm -f "${TMPDIR:-/tmp}/test_docs.$$"
# README links to the pages that hold the internals
for page in docs/testing.md docs/chaos.md docs/benchmarks.md docs/layout.md; do
    grep -q "]($page)" README.md || fail "README does not link to $page"
done
# and to its own sections by anchors that exist (GitHub's rule: lower case,
# spaces to '-', punctuation but '-' and '_' dropped)
grep -o '](#[^)]*)' README.md | sed 's/^](#\(.*\))$/\1/' | sort -u | while read -r anchor; do
    grep '^#' README.md | sed 's/^#* //' | tr 'A-Z ' 'a-z-' | tr -cd 'a-z0-9_\n-' |
        grep -qx -- "$anchor" || echo "README links to #$anchor, which no heading makes"
done >"${TMPDIR:-/tmp}/test_docs.$$"
if [ -s "${TMPDIR:-/tmp}/test_docs.$$" ]; then
    fail "$(cat "${TMPDIR:-/tmp}/test_docs.$$")"
fi
rm -f "${TMPDIR:-/tmp}/test_docs.$$"

# 3. The licence: MPL-2.0's text, and the spec and README say so
head -1 LICENSE | grep -q '^Mozilla Public License Version 2.0$' ||
    fail "LICENSE is not the Mozilla Public License 2.0"
grep -q 'Exhibit A - Source Code Form License Notice' LICENSE || fail "LICENSE is not the whole MPL-2.0 text"
grep -q '^\* Licence: MPL-2.0' protocol/zcqrs-v1.md || fail "the spec's header does not declare MPL-2.0"
grep -q 'Mozilla Public License 2.0' README.md || fail "README does not name the licence"

[ "$status" -eq 0 ] && echo "test_docs: README sections, links and licence OK"
exit "$status"
