#!/usr/bin/env bash
# Builds the libFuzzer targets with clang into build/fuzz and runs them, one at a time.
# Usage: scripts/fuzz.sh [--merge] TARGET|all SECONDS [libFuzzer options...]
#   TARGET: query zone_json master_import config health_override latency_table http_request
#           transfer client_hello h2_frames
#   --merge: afterwards, add the inputs that found new coverage to fuzz/corpus/TARGET
#            (libFuzzer -merge=1: only inputs that add coverage are kept).
# New inputs go to build/fuzz/corpus/TARGET (seeded from fuzz/corpus/TARGET); a crash is
# written to build/fuzz/crashes/TARGET/ (keep it under fuzz/regressions/TARGET/ with the fix).
# Runs at nice 10, one fuzzing process at a time (no -jobs: the machine is shared).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
merge=0
if [ "${1:-}" = "--merge" ]; then merge=1; shift; fi
[ $# -ge 2 ] || { sed -n '2,10p' "$0" >&2; exit 2; }
which=$1 seconds=$2; shift 2
all=(query zone_json master_import config health_override latency_table http_request transfer client_hello h2_frames)
if [ "$which" = all ]; then targets=("${all[@]}"); else targets=("$which"); fi

build="$root/build/fuzz"
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
[ -f "$build/CMakeCache.txt" ] || cmake -S "$root" -B "$build" "${generator[@]}" \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DMERIDIAN_FUZZ=ON -DMERIDIAN_TESTS=OFF >/dev/null
nice -n 10 cmake --build "$build" --parallel "$(nproc)" --target "${targets[@]/#/fuzz_}"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/tests/lsan.supp}
for t in "${targets[@]}"; do
  work="$build/corpus/$t" crashes="$build/crashes/$t"
  mkdir -p "$work" "$crashes"
  echo "fuzz: $t for ${seconds}s" >&2
  nice -n 10 "$build/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$crashes/" -print_final_stats=1 "$@" "$work" "$root/fuzz/corpus/$t"
  if [ "$merge" = 1 ]; then
    nice -n 10 "$build/fuzz/fuzz_$t" -merge=1 "$root/fuzz/corpus/$t" "$work"
  fi
done
