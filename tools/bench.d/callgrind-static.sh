#!/usr/bin/env bash
# Instructions per static query (the bench mix of tools/bench.d/gen-zone.awk: A, AAAA,
# CNAME, MX, NXDOMAIN over a 10,000-name zone), like tools/bench.d/callgrind-geo.sh.
# Usage: tools/bench.d/callgrind-static.sh [BINARY] [OUT]   (env: EDNS, COOKIE, RRL, COLLECT, SIGNED, DO,
#        DENIAL=compact|nsec, ONLINE=signatures per second per thread)
# EDNS=1 sends every query with EDNS; COOKIE=1 (EDNS too) learns a server cookie with
# dig first and sends every query with it (a valid cookie: the DNS-cookie path).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$root/build/release/server/meridian}
out=${2:-/tmp/meridian-callgrind-static}
for tool in valgrind dnsperf callgrind_annotate ${COOKIE:+dig}; do
  command -v "$tool" >/dev/null || { echo "callgrind-static: needs $tool" >&2; exit 1; }
done
rm -rf "$out"; mkdir -p "$out/zones"
awk -v names=10000 -v origin=bench.test. -v master=$out/bench.zone -v json=$out/zones/bench.test.json -v queries=$out/queries.txt -v nq=20000 -f $root/tools/bench.d/gen-zone.awk /dev/null
# SIGNED=1 signs the zone (a CSK made with `meridian dnssec keygen`); DO=1 sets the DO
# bit on every query (with SIGNED: every answer carries its RRSIGs and NSECs).
if [ -n "${SIGNED:-}" ]; then
  mkdir -p "$out/zones/keys"
  "$bin" dnssec keygen bench.test. -d "$out/zones/keys" >/dev/null
  sed -i '0,/{/s//{"dnssec": {"keys": "keys\/", "denial": "'"${DENIAL:-compact}"'"},/' "$out/zones/bench.test.json"
fi
# With compact denial (the default) every NXDOMAIN query of the mix (a random name) is a
# cache miss that signs on the DNS thread within dns.online_signatures_per_second:
# ONLINE=0 measures the answers alone (NXDOMAIN from the precomputed chain), DENIAL=nsec
# the same without the compact path; ONLINE=N sets the budget.
online=${ONLINE:+, \"online_signatures_per_second\": $ONLINE}
port=$((20000 + RANDOM % 20000))
# RRL='{"responses_per_second": 100000, ...}' adds dns.rrl (rates nothing reaches: the cost of
# accounting a response that is sent) and counts the worker's rate_limit() with answer_query.
# COLLECT=FUNCTION-PATTERN counts that instead (e.g. 'meridian::net::UdpServer::worker*',
# the whole receive-answer-send loop; callgrind toggles on nested matches, so give one).
rrl=${RRL:+, \"rrl\": $RRL}
collect=(--toggle-collect='meridian::query::answer_query*')
[ -n "${RRL:-}" ] && collect+=(--toggle-collect='*rate_limit*')
[ -n "${COLLECT:-}" ] && collect=(--toggle-collect="$COLLECT")
printf '{"dns": {"listen": ["127.0.0.1:%s"], "threads": 1%s%s}, "zones": "zones/"}\n' "$port" "$rrl" "$online" >"$out/meridian.json"
valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.out" \
  "${collect[@]}" "$bin" serve --config "$out/meridian.json" 2>"$out/server.log" &
pid=$!
# A signed zone is signed at start (30,000 signatures for 10,000 names): slow under valgrind.
ready_wait=120; [ -n "${SIGNED:-}" ] && ready_wait=1800
for _ in $(seq 1 "$ready_wait"); do grep -q "event=ready" "$out/server.log" 2>/dev/null && break; sleep 1; done
edns=(); extra_queries=0
[ -n "${EDNS:-}" ] && edns=(-e)
[ -n "${DO:-}" ] && edns=(-D)
if [ -n "${COOKIE:-}" ]; then
  cookie=$(dig @127.0.0.1 -p "$port" +cookie +tries=3 bench.test SOA | awk '/; COOKIE:/{print $3}')
  [ ${#cookie} -eq 48 ] || { echo "callgrind-static: no server cookie learned" >&2; kill -INT "$pid"; exit 1; }
  edns=(-E "10:$cookie"); extra_queries=1  # dig's query is counted too
fi
dnsperf -s 127.0.0.1 -p "$port" -d "$out/queries.txt" -n 1 -Q 2000 -t 5 "${edns[@]}" >"$out/dnsperf.txt" 2>&1 || true
kill -INT "$pid"; wait "$pid" || true
queries=$(awk -v extra="$extra_queries" '/Queries completed/{print $3 + extra}' "$out/dnsperf.txt")
instructions=$(callgrind_annotate "$out/callgrind.out" 2>/dev/null | awk '/PROGRAM TOTALS/{gsub(",", "", $1); print $1}')
echo "static: queries $queries, instructions $instructions, per query $(awk -v i="$instructions" -v q="$queries" 'BEGIN{printf "%.1f", i/q}')"
