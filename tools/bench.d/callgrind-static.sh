#!/usr/bin/env bash
# Instructions per static query (the bench mix of tools/bench.d/gen-zone.awk: A, AAAA,
# CNAME, MX, NXDOMAIN over a 10,000-name zone), like tools/bench.d/callgrind-geo.sh.
# Usage: tools/bench.d/callgrind-static.sh [BINARY] [OUT]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$root/build/release/server/meridian}
out=${2:-/tmp/meridian-callgrind-static}
for tool in valgrind dnsperf callgrind_annotate; do
  command -v "$tool" >/dev/null || { echo "callgrind-static: needs $tool" >&2; exit 1; }
done
rm -rf "$out"; mkdir -p "$out/zones"
awk -v names=10000 -v origin=bench.test. -v master=$out/bench.zone -v json=$out/zones/bench.test.json -v queries=$out/queries.txt -v nq=20000 -f $root/tools/bench.d/gen-zone.awk /dev/null
port=$((20000 + RANDOM % 20000))
printf '{"dns": {"listen": ["127.0.0.1:%s"], "threads": 1}, "zones": "zones/"}\n' "$port" >"$out/meridian.json"
valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.out" \
  --toggle-collect='meridian::query::answer_query*' "$bin" serve --config "$out/meridian.json" 2>"$out/server.log" &
pid=$!
for _ in $(seq 1 120); do grep -q "event=ready" "$out/server.log" 2>/dev/null && break; sleep 1; done
dnsperf -s 127.0.0.1 -p "$port" -d "$out/queries.txt" -n 1 -Q 2000 -t 5 >"$out/dnsperf.txt" 2>&1 || true
kill -INT "$pid"; wait "$pid" || true
queries=$(awk '/Queries completed/{print $3}' "$out/dnsperf.txt")
instructions=$(callgrind_annotate "$out/callgrind.out" 2>/dev/null | awk '/PROGRAM TOTALS/{gsub(",", "", $1); print $1}')
echo "static: queries $queries, instructions $instructions, per query $(awk -v i="$instructions" -v q="$queries" 'BEGIN{printf "%.1f", i/q}')"
