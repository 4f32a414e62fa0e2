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
if sh fuzz/run.sh build-fuzz "$seconds" $targets; then
    echo "test_fuzz: ok"
else
    echo "test_fuzz: FAILED (a finding is in build-fuzz/findings; see fuzz/README.md)" >&2
    exit 1
fi
