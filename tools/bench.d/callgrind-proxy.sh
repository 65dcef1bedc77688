#!/usr/bin/env bash
# Instructions (callgrind) and system calls (strace -c) per proxied request, for meridian's
# L7 TLS listener or HAProxy's TLS frontend, configured as `tools/bench --scenario proxy`
# configured them. Pairs of CPU time (proxy-pairs.sh) have ±5% noise; these counts do not,
# so they show changes smaller than that. Only user-space instructions are counted by
# callgrind: the system calls per request are the kernel's side of the comparison.
#
# usage: tools/bench.d/callgrind-proxy.sh OUT [meridian|haproxy] [h2|tls] [REQUESTS]
#   OUT  a finished `tools/bench --scenario proxy --out OUT` (its work/ folder: configs, ports)
#   h2 = h2load -c10 -m10 over TLS (default); tls = h2load --h1 -c10 (HTTPS keep-alive)
# env: MERIDIAN= another binary; STRACE=1 counts system calls instead of instructions.
set -euo pipefail
out=${1:?usage: callgrind-proxy.sh OUT [meridian|haproxy] [h2|tls] [REQUESTS]}
who=${2:-meridian}
mode=${3:-h2}
requests=${4:-20000}
root=$(cd "$(dirname "$0")/../.." && pwd)
meridian=$(readlink -f "${MERIDIAN:-$root/build/release/server/meridian}")
work=$out/work
for tool in valgrind callgrind_control callgrind_annotate h2load nginx ${STRACE:+strace}; do
  command -v "$tool" >/dev/null || { echo "callgrind-proxy: needs $tool" >&2; exit 1; }
done
mconf=$work/meridian-l7-tls/meridian.json
hconf=$work/haproxy-http-tls/haproxy.cfg
[ -f "$mconf" ] && [ -f "$hconf" ] || { echo "no meridian-l7-tls / haproxy-http-tls in $work" >&2; exit 1; }
case $who in
  meridian) port=$(grep -o '"l7": {"listen": "127.0.0.1:[0-9]*' "$mconf" | grep -o '[0-9]*$')
            cmd=("$meridian" serve --config meridian.json); dir=$work/meridian-l7-tls ;;
  haproxy)  port=$(awk '$1 == "bind" { sub(/.*:/, "", $2); print $2; exit }' "$hconf")
            cmd=(haproxy -f "$hconf" -db); dir=$work/haproxy-http-tls ;;
  *) echo "meridian or haproxy" >&2; exit 1 ;;
esac
load=(h2load -c 10 -m 10)
[ "$mode" = tls ] && load=(h2load --h1 -c 10)
log=$out/callgrind-proxy-$who-$mode
pids=()
cleanup() { for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
nginx -c "$work/backends/nginx.conf" -p "$work/backends" >"$log.backends" 2>&1 &
pids+=($!)
if [ -n "${STRACE:-}" ]; then
  (cd "$dir" && exec "${cmd[@]}") >"$log.server" 2>&1 &
else
  (cd "$dir" && exec valgrind --tool=callgrind --instr-atstart=no \
    --callgrind-out-file="$log.callgrind" "${cmd[@]}") >"$log.server" 2>&1 &
fi
pid=$!
pids+=("$pid")
ok() { curl -s --max-time 5 --cacert "$work/tls/cert.pem" "https://127.0.0.1:$port/" 2>/dev/null | grep -q ok; }
for _ in $(seq 240); do ok && break; sleep 0.5; done
ok || { echo "callgrind-proxy: no 200 from $who on $port" >&2; exit 1; }
"${load[@]}" -n 2000 "https://127.0.0.1:$port/" >/dev/null  # warm-up: pools, sessions
if [ -n "${STRACE:-}" ]; then
  strace -c -f -p "$pid" -o "$log.strace" &
  spid=$!
  sleep 1
else
  callgrind_control -i on "$pid" >/dev/null 2>&1
fi
"${load[@]}" -n "$requests" "https://127.0.0.1:$port/" >"$log.h2load"
grep -q "succeeded, 0 failed\|$requests succeeded" "$log.h2load" || grep '^requests:' "$log.h2load" >&2
if [ -n "${STRACE:-}" ]; then
  kill -INT "$spid"; wait "$spid" 2>/dev/null || true
  awk -v n="$requests" '$NF == "total" { printf "%s %s: %.2f system calls per request\n", "'"$who"'", "'"$mode"'", $4 / n }' "$log.strace"
  exit 0
fi
callgrind_control -i off "$pid" >/dev/null 2>&1
kill -INT "$pid"; wait "$pid" 2>/dev/null || true
pids=("${pids[@]:0:1}")
instructions=$(callgrind_annotate "$log.callgrind"* 2>/dev/null | awk '/PROGRAM TOTALS/{gsub(",", "", $1); print $1}')
awk -v i="$instructions" -v n="$requests" -v w="$who" -v m="$mode" \
  'BEGIN { printf "%s %s: %d instructions in %d requests, %.0f per request\n", w, m, i, n, i / n }'
