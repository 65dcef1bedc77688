#!/bin/bash
# tools/bench.d/rrl-pairs.sh — meridian without RRL against meridian with RRL on but not
# limiting (the "unlimited path": every response passes its bucket), in interleaved pairs.
# The figure the issue asks for: what RRL costs a query it lets through.
#
# usage: tools/bench.d/rrl-pairs.sh OUT [ROUNDS] [SECONDS] [MIX]
#   OUT      a finished `tools/bench --out OUT` run (static): its work/ folder holds the
#            config, zone and queries reused here; MIX plain | edns (default plain)
# Both instances run at once, pinned to CPU 0; dnsperf (-c 1 -T 1 -Q 20000) on CPU 1
# alternates between them. RRL is set to 100,000 responses per second per bucket (the
# largest allowed), far above what one client's 20,000 qps over the query list reaches, and
# no exempt prefix, so every query goes through the bucket lookup and update. RRL_TABLE=N
# sets dns.rrl.table_size (default 65536). "meridian"
# in the output is RRL off, the peer "rrl-on".
set -euo pipefail
out=${1:?usage: rrl-pairs.sh OUT [ROUNDS] [SECONDS] [MIX]}
rounds=${2:-10}
secs=${3:-5}
mix=${4:-plain}
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tools/bench.d/pairs-lib.sh"
meridian=$(readlink -f "${MERIDIAN:-$root/build/release/server/meridian}")
work=$out/work
[ -f "$work/meridian/meridian.json" ] || { echo "no meridian config in $work" >&2; exit 1; }
case $mix in
  plain) qargs=(-d "$work/queries.txt") ;;
  edns) qargs=(-d "$work/queries.txt" -e) ;;
  *) echo "unknown mix $mix" >&2; exit 1 ;;
esac

# Two copies of the configuration on free ports, the second with RRL on.
offport=$(free_port) onport=$(free_port)
rm -rf "$out/rrl-off" "$out/rrl-on"
cp -r "$work/meridian" "$out/rrl-off"
cp -r "$work/meridian" "$out/rrl-on"
# configure DIR PORT [on]: DIR's meridian.json listens on PORT, without admin, with RRL only when "on".
configure() {
  python3 - "$1/meridian.json" "$2" "${3:-}" <<'PY'
import json, os, sys
path, port, rrl = sys.argv[1], sys.argv[2], sys.argv[3]
c = json.load(open(path))
c["dns"]["listen"] = ["127.0.0.1:" + port]
c.pop("admin", None)
c["dns"].pop("rrl", None)
if rrl == "on":
    c["dns"]["rrl"] = {"responses_per_second": 100000, "window": 15, "slip": 2}
    if os.environ.get("RRL_TABLE"): c["dns"]["rrl"]["table_size"] = int(os.environ["RRL_TABLE"])
json.dump(c, open(path, "w"))
PY
}
configure "$out/rrl-off" "$offport"
configure "$out/rrl-on" "$onport" on

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
(cd "$out/rrl-off" && exec taskset -c 0 "$meridian" serve --config meridian.json >"$out/rrl-off.log" 2>&1) &
opid=$!
pids+=("$opid")
(cd "$out/rrl-on" && exec taskset -c 0 "$meridian" serve --config meridian.json >"$out/rrl-on.log" 2>&1) &
npid=$!
pids+=("$npid")

for _ in $(seq 60); do dns_ready "$offport" && dns_ready "$onport" && break; sleep 0.5; done
dns_ready "$offport" && dns_ready "$onport" || { echo "servers did not answer" >&2; exit 1; }
pin_to_cpu0 "$opid" "$npid"

run() { dns_run "$@"; }  # PID PORT -> CPU µs per query

echo "pairs: $rounds x ${secs}s at 20000 qps, mix $mix; CPU us/query (meridian = RRL off, rrl-on = RRL on, not limiting)"
interleave "$rounds" rrl-on "$opid" "$offport" "$npid" "$onport" 2
# Nothing may have been limited: RRL passed every response.
grep -q 'event=rrl' "$out/rrl-on.log" && { echo "rrl-on logged RRL events: it limited" >&2; exit 1; }
exit 0
