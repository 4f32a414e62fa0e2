#!/bin/sh
# Every fuzz target for about 20 s, after its earlier findings
# (fuzz/regressions) run clean: a regression in a decoder or handler that
# takes bytes from another process fails the suite.
# usage: tests/test_fuzz.sh BUILD_DIR
# Runs from the plain build only: the fuzz targets carry ASan and UBSan
# themselves, so the build-asan pass would repeat the same runs.
set -u
case "${1:-build}" in
    *asan*) echo "test_fuzz: skipped in $1 (the targets are sanitized anyway)"; exit 0 ;;
esac
if ! command -v clang >/dev/null 2>&1; then
    echo "test_fuzz: clang is missing (deploy/install-deps.sh installs it)" >&2
    exit 1
fi
seconds=${FUZZ_SECONDS:-20}
make --no-print-directory -s -j2 fuzz-build >/dev/null || exit 1
targets=$(cd fuzz && ls fuzz_*.c | sed -e 's/\.c$//' -e '/^fuzz_kit$/d')
# shellcheck disable=SC2086
if ! sh fuzz/run.sh build-fuzz "$seconds" $targets; then
    echo "test_fuzz: FAILED (a finding is in build-fuzz/findings; see fuzz/README.md)" >&2
    exit 1
fi

# A target started by hand from another folder, without -artifact_prefix,
# still writes what it finds under build-fuzz/findings/TARGET/: a body of
# 1 MB makes the decoder allocate over a 1 MiB malloc limit, an "oom-"
# finding. Nothing may land in that folder or at the root of the tree.
top=$(pwd)
probe=$(mktemp -d "${TMPDIR:-/tmp}/zcq-fuzz-probe-XXXXXX")
trap 'rm -rf "$probe"' EXIT INT TERM
mkdir "$probe/corpus"
head -c 1000000 /dev/zero >"$probe/corpus/big"
artifact="build-fuzz/findings/fuzz_msg/oom-$(sha1sum <"$probe/corpus/big" | cut -c1-40)"
rm -f "$artifact"
(cd "$probe" && timeout 60 "$top/build-fuzz/fuzz/fuzz_msg" -runs=1 -malloc_limit_mb=1 corpus \
    >"$probe/log" 2>&1)
strays=$(cd "$probe" && ls -d crash-* leak-* timeout-* oom-* slow-unit-* 2>/dev/null)
roots=$(ls -d crash-* leak-* timeout-* oom-* slow-unit-* 2>/dev/null)
if [ ! -f "$artifact" ] || [ -n "$strays" ] || [ -n "$roots" ]; then
    echo "test_fuzz: FAILED: a finding should be $artifact, and nothing in the folder" \
        "a target ran in (found: ${strays:-nothing}) or at the root (${roots:-nothing})" >&2
    sed 's/^/    /' "$probe/log" | tail -5 >&2
    exit 1
fi
rm -f "$artifact"
echo "test_fuzz: ok (findings go under build-fuzz/findings/, wherever a target runs)"
