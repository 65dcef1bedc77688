# tools/bench.d/pairs-lib.sh — sourced by pairs.sh, rrl-pairs.sh and proxy-pairs.sh: the
# interleaved loop and its summary, and the DNS helpers. The caller defines run PID PORT
# (prints one figure, lower is better); DNS callers can use dns_run for it.

# cpu_ns PID: CPU time of every thread of PID so far, in ns (/proc/PID/task/*/schedstat).
cpu_ns() { local t=0 a b c; for f in /proc/$1/task/*/schedstat; do read -r a b c <"$f"; t=$((t + a)); done; echo $t; }

# pin_to_cpu0 PID...: every thread of each PID onto CPU 0.
pin_to_cpu0() { local p t; for p in "$@"; do for t in /proc/$p/task/*; do taskset -cp 0 "${t##*/}" >/dev/null; done; done; }

# free_port: a port no socket uses (TCP or UDP, listening or not), below the kernel's
# ephemeral range, which clients' connections cycle through (the DNS servers bind it for
# both UDP and TCP: a port picked by binding UDP port 0 was once taken for TCP).
free_port() {
  local p i low
  read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || low=32768
  [ "$low" -gt 12000 ] || low=32768
  for i in $(seq 200); do
    p=$((10000 + (RANDOM * 32768 + RANDOM) % (low - 10000)))
    [ -z "$(ss -Haun "sport = :$p" 2>/dev/null)" ] && [ -z "$(ss -Hatn "sport = :$p" 2>/dev/null)" ] && { echo "$p"; return 0; }
  done
  return 1
}

# dns_ready PORT: the server on 127.0.0.1:PORT answers bench.test SOA.
dns_ready() { dig +short +time=1 +tries=1 -p "$1" @127.0.0.1 bench.test SOA >/dev/null 2>&1; }

# dns_run PID PORT: dnsperf (on CPU 1, -c 1 -T 1, 20,000 qps for $secs, "${qargs[@]}") against
# the server on PORT -> its CPU microseconds per query answered.
dns_run() {
  local c0 c1 q
  c0=$(cpu_ns "$1")
  q=$(taskset -c 1 dnsperf -s 127.0.0.1 -p "$2" "${qargs[@]}" -c 1 -T 1 -l "$secs" -Q 20000 2>&1 |
      awk '/Queries completed/{print $3}')
  c1=$(cpu_ns "$1")
  awk -v c=$((c1 - c0)) -v q="$q" 'BEGIN{printf "%.2f", c / 1000 / q}'
}

# interleave ROUNDS PEER MPID MPORT PPID PPORT DECIMALS: meridian and the peer in turns, the one
# going first alternating (a run is measurably affected by the one just before it: in a fixed
# order gdnsd once came out 12% lower than in a rotating one); prints every pair, then the
# medians, the means and in how many pairs meridian was lower.
interleave() {
  local rounds=$1 peer=$2 mpid=$3 mport=$4 ppid=$5 pport=$6 dec=$7 i m p results=()
  for i in $(seq "$rounds"); do
    if [ $((i % 2)) -eq 1 ]; then
      m=$(run "$mpid" "$mport"); p=$(run "$ppid" "$pport")
    else
      p=$(run "$ppid" "$pport"); m=$(run "$mpid" "$mport")
    fi
    echo "  $i: meridian $m  $peer $p"
    results+=("$m $p")
  done
  printf '%s\n' "${results[@]}" | awk -v peer="$peer" -v d="$dec" '
    { m[NR] = $1; p[NR] = $2; sm += $1; sp += $2; if ($1 < $2) lower++ }
    function median(a, n,   i, j, t) {
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
      return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    END {
      n = NR; f = "%." d "f"
      printf "median: meridian " f "  %s " f "  (meridian/%s x%.3f)\n", median(m, n), peer, median(p, n), peer, median(m, n) / median(p, n)
      printf "mean:   meridian " f "  %s " f "  (x%.3f); meridian lower in %d of %d pairs\n", sm / n, peer, sp / n, sm / sp, lower, n
    }'
}
