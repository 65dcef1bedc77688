#!/usr/bin/env bash
# Instructions per geo query on the query path (answer_query and what it calls),
# counted by callgrind: repeatable for the same binary and inputs whatever else the
# machine is doing, so a change to the geo path can be measured on a loaded machine.
# Usage: tools/bench.d/callgrind-geo.sh [BINARY] [OUT]   (env: RRL, COLLECT, SIGNED, DO)
#   BINARY  default build/release/server/meridian; OUT default /tmp/meridian-callgrind-geo
# Queries: the geo mix of `tools/bench --scenario geo` (tools/bench.d/geo-gen.py over
# tests/data/geoip/GeoIP2-City-Test.mmdb: 20,000 queries, ECS varied, 30% IPv6),
# sent once by dnsperf at 2,000 q/s. Needs valgrind, dnsperf and python3.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$root/build/release/server/meridian}
out=${2:-/tmp/meridian-callgrind-geo}
for tool in valgrind dnsperf python3 callgrind_annotate; do
  command -v "$tool" >/dev/null || { echo "callgrind-geo: needs $tool" >&2; exit 1; }
done
rm -rf "$out"
mkdir -p "$out/zones"
mmdb="$root/tests/data/geoip/GeoIP2-City-Test.mmdb"
# DO=1 sets the DO bit on every query; SIGNED=1 signs the zone (a CSK made with
# `meridian dnssec keygen`): with both, every geo answer carries its RRSIG.
python3 "$root/tools/bench.d/geo-gen.py" gen --mmdb "$mmdb" --out "$out/geo" ${DO:+--do} >"$out/geo-gen.txt"
cp "$out/geo/geo.test.json" "$out/zones/"
if [ -n "${SIGNED:-}" ]; then
  mkdir -p "$out/zones/keys"
  "$bin" dnssec keygen geo.test. -d "$out/zones/keys" >/dev/null
  sed -i '0,/{/s//{"dnssec": {"keys": "keys\/"},/' "$out/zones/geo.test.json"
fi
port=$((20000 + RANDOM % 20000))
# RRL='{"responses_per_second": 100000, ...}' adds dns.rrl (rates nothing reaches: the cost of
# accounting a response that is sent) and counts the worker's rate_limit() with answer_query.
# COLLECT=FUNCTION-PATTERN counts that instead (e.g. 'meridian::net::UdpServer::worker*',
# the whole receive-answer-send loop; callgrind toggles on nested matches, so give one).
rrl=${RRL:+, \"rrl\": $RRL}
collect=(--toggle-collect='meridian::query::answer_query*')
[ -n "${RRL:-}" ] && collect+=(--toggle-collect='*rate_limit*')
[ -n "${COLLECT:-}" ] && collect=(--toggle-collect="$COLLECT")
printf '{"dns": {"listen": ["127.0.0.1:%s"], "threads": 1%s}, "zones": "zones/", "geoip": {"city": "%s"}, "services": %s}\n' \
  "$port" "$rrl" "$mmdb" "$(cat "$out/geo/meridian-services.json")" >"$out/meridian.json"
valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.out" \
  "${collect[@]}" "$bin" serve --config "$out/meridian.json" 2>"$out/server.log" &
pid=$!
for _ in $(seq 1 120); do grep -q "event=ready" "$out/server.log" 2>/dev/null && break; sleep 1; done
grep -q "event=ready" "$out/server.log" || { kill "$pid"; echo "callgrind-geo: server did not start" >&2; exit 1; }
dnsperf -s 127.0.0.1 -p "$port" -d "$out/geo/queries.bin" -B -n 1 -Q 2000 -t 5 >"$out/dnsperf.txt" 2>&1 || true
kill -INT "$pid"
wait "$pid" || true
queries=$(awk '/Queries completed/{print $3}' "$out/dnsperf.txt")
instructions=$(callgrind_annotate "$out/callgrind.out" 2>/dev/null | awk '/PROGRAM TOTALS/{gsub(",", "", $1); print $1}')
echo "queries $queries, instructions $instructions, per query $(awk -v i="$instructions" -v q="$queries" 'BEGIN{printf "%.1f", i/q}')"
echo "by function: callgrind_annotate $out/callgrind.out"
