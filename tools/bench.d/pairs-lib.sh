# tools/bench.d/pairs-lib.sh — sourced by pairs.sh and proxy-pairs.sh: the interleaved loop
# and its summary. The caller defines run PID PORT (prints one figure, lower is better).

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
