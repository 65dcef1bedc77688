#!/bin/bash
# tools/bench.d/proxy-pairs.sh — meridian's L4 or L7 forwarder against HAProxy (tcp or http
# mode) in interleaved runs, for differences smaller than the run-to-run noise of one
# `tools/bench --scenario proxy` row (±20% here: the request rate, set by wrk and the backends
# sharing CPU 1, moves from run to run, and CPU per request follows it).
#
# usage: tools/bench.d/proxy-pairs.sh OUT [ROUNDS] [SECONDS] [l4|l7|tls|hs|h2]
#   OUT      a finished `tools/bench --scenario proxy --out OUT`: its work/ folder holds the
#            backends', meridian's and HAProxy's configs, reused here on their ports
#   ROUNDS   pairs to run (default 10); SECONDS per wrk run (default 5); mode (default l4):
#            tls = HTTPS keep-alive, hs = a full TLS handshake per request, h2 = HTTP/2 over
#            TLS (h2load -c50 -m10), each meridian-l7-tls against haproxy's TLS frontend
# The backends (nginx) run on CPU 1 with wrk (-t1 -c50); both proxies run at once, pinned to
# CPU 0; wrk alternates between them, and which one goes first alternates too. Each run's
# proxy CPU (all threads, /proc/PID/task/*/schedstat) per 100k requests is printed for every
# pair, then the medians, the means and in how many pairs meridian used less.
set -euo pipefail
out=${1:?usage: proxy-pairs.sh OUT [ROUNDS] [SECONDS] [l4|l7|tls|hs|h2]}
rounds=${2:-10}
secs=${3:-5}
mode=${4:-l4}
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tools/bench.d/pairs-lib.sh"
meridian=$(readlink -f "${MERIDIAN:-$root/build/release/server/meridian}")
work=$out/work
scheme=http mdir=meridian-$mode load=(wrk -t1 -c50)
case $mode in
  l4) hmode=tcp ;;
  l7) hmode=http ;;
  tls|hs|h2) hmode=http-tls scheme=https mdir=meridian-l7-tls mode=$mode ;;
  *) echo "mode is l4, l7, tls, hs or h2" >&2; exit 1 ;;
esac
[ "$mode" = hs ] && load+=(-H "Connection: close")
[ "$mode" = h2 ] && load=(h2load -c 50 -m 10)
mconf=$work/$mdir/meridian.json
hconf=$work/haproxy-$hmode/haproxy.cfg
[ -f "$mconf" ] && [ -f "$hconf" ] && [ -f "$work/backends/nginx.conf" ] ||
  { echo "no $mdir / haproxy-$hmode / backends configs in $work" >&2; exit 1; }

mport=$(grep -o "\"l[47]\": {\"listen\": \"127.0.0.1:[0-9]*" "$mconf" | grep -o '[0-9]*$')
hport=$(awk '$1 == "bind" { sub(/.*:/, "", $2); print $2; exit }' "$hconf")

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
taskset -c 1 nginx -c "$work/backends/nginx.conf" -p "$work/backends" >"$out/proxy-pairs-backends.log" 2>&1 &
pids+=($!)
(cd "$work/$mdir" && exec taskset -c 0 "$meridian" serve --config meridian.json \
  >"$out/proxy-pairs-meridian.log" 2>&1) &
mpid=$!
pids+=("$mpid")
taskset -c 0 haproxy -f "$hconf" -db >"$out/proxy-pairs-haproxy.log" 2>&1 &
hpid=$!
pids+=("$hpid")

ok() { curl -s --max-time 2 --cacert "$work/tls/cert.pem" "$scheme://127.0.0.1:$1/" 2>/dev/null | grep -q ok; }
for _ in $(seq 60); do ok "$mport" && ok "$hport" && break; sleep 0.5; done
ok "$mport" && ok "$hport" || { echo "no 200 through both proxies" >&2; exit 1; }
pin_to_cpu0 "$mpid" "$hpid"

run() {  # PID PORT -> proxy CPU-s per 100k requests
  local c0 c1 n
  c0=$(cpu_ns "$1")
  if [ "$mode" = h2 ]; then
    n=$(taskset -c 1 "${load[@]}" -D "$secs" "$scheme://127.0.0.1:$2/" | awk '/^requests:/{print $8}')
  else
    n=$(taskset -c 1 "${load[@]}" -d"${secs}s" "$scheme://127.0.0.1:$2/" | awk '/ requests in /{print $1}')
  fi
  c1=$(cpu_ns "$1")
  awk -v c=$((c1 - c0)) -v n="$n" 'BEGIN{printf "%.3f", c / 1e9 / (n / 1e5)}'
}
for p in $mport $hport; do  # warm-up
  if [ "$mode" = h2 ]; then taskset -c 1 "${load[@]}" -D 1 "$scheme://127.0.0.1:$p/" >/dev/null
  else taskset -c 1 "${load[@]}" -d1s "$scheme://127.0.0.1:$p/" >/dev/null; fi
done

echo "proxy pairs: $rounds x ${secs}s, ${load[*]}; proxy CPU-s per 100k requests ($mdir, haproxy-$hmode, mode $mode)"
interleave "$rounds" haproxy "$mpid" "$mport" "$hpid" "$hport" 3
