#!/bin/bash
# tools/bench.d/pairs.sh — meridian against gdnsd in interleaved pairs, for differences
# smaller than the run-to-run noise of one `tools/bench` row (±10% on this 2-core VM).
#
# usage: tools/bench.d/pairs.sh OUT [ROUNDS] [SECONDS] [MIX]
#   OUT      a finished `tools/bench --out OUT` (static) or `--scenario geo` run: its
#            work/ folder holds the configs, zone and queries this script reuses
#   ROUNDS   pairs to run (default 10); SECONDS per run (default 5)
#   MIX      plain | edns | geo (default plain; geo needs a --scenario geo OUT)
# Both servers run at once, pinned to CPU 0; dnsperf (-c 1 -T 1 -Q 20000) on CPU 1 alternates
# between them, and which one goes first alternates too. Each run's server CPU (all threads,
# /proc/PID/task/*/schedstat) ÷ queries answered gives CPU µs/query; the script prints every
# pair, then the medians, the means and in how many pairs meridian used less.
set -euo pipefail
out=${1:?usage: pairs.sh OUT [ROUNDS] [SECONDS] [MIX]}
rounds=${2:-10}
secs=${3:-5}
mix=${4:-plain}
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tools/bench.d/pairs-lib.sh"
meridian=$(readlink -f "${MERIDIAN:-$root/build/release/server/meridian}")
work=$out/work
[ -f "$work/meridian/meridian.json" ] && [ -d "$work/gdnsd/etc" ] || { echo "no meridian/gdnsd configs in $work" >&2; exit 1; }

port_of() { grep -o '127\.0\.0\.1[:@ ]*[0-9]*' "$1" | head -1 | grep -o '[0-9]*$'; }
mport=$(port_of "$work/meridian/meridian.json")
gport=$(port_of "$work/gdnsd/etc/config")
case $mix in
  plain) qargs=(-d "$work/queries.txt") ;;
  edns) qargs=(-d "$work/queries.txt" -e) ;;
  geo) qargs=(-B -d "$work/geo/queries.bin") ;;
  *) echo "unknown mix $mix" >&2; exit 1 ;;
esac

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
(cd "$work/meridian" && exec taskset -c 0 "$meridian" serve --config meridian.json >"$out/pairs-meridian.log" 2>&1) &
mpid=$!
pids+=("$mpid")
(cd "$work/gdnsd" && exec taskset -c 0 gdnsd -c "$work/gdnsd/etc" start >"$out/pairs-gdnsd.log" 2>&1) &
gpid=$!
pids+=("$gpid")

for _ in $(seq 60); do dns_ready "$mport" && dns_ready "$gport" && break; sleep 0.5; done
dns_ready "$mport" && dns_ready "$gport" || { echo "servers did not answer" >&2; exit 1; }
pin_to_cpu0 "$mpid" "$gpid"

run() { dns_run "$@"; }  # PID PORT -> CPU µs per query

echo "pairs: $rounds x ${secs}s at 20000 qps, mix $mix; CPU us/query (meridian, gdnsd)"
interleave "$rounds" gdnsd "$mpid" "$mport" "$gpid" "$gport" 2
