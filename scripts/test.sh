#!/usr/bin/env bash
# The whole test suite: installs missing Debian packages, builds with -Werror and
# ASan+UBSan, runs every unit and integration test with ctest.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# knotd, nsd and gdnsd: the differential and zone transfer tests start their own on free loopback ports
# (the demo needs neither).
"$root/scripts/deps.sh" knot nsd gdnsd
build="$root/build/test"
"$root/scripts/build.sh" "$build" -DCMAKE_BUILD_TYPE=Debug -DMERIDIAN_WERROR=ON -DMERIDIAN_SANITIZE=ON
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/tests/lsan.supp}
cd "$build"
ctest --output-on-failure --timeout 600 -j2 "$@"
