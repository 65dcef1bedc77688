# Turns tools/bench's raw measurements (runs.tsv) into the results table and JSON.
# Usage: awk -F'\t' -v base=meridian -v rate=20000 -v json=OUT.json [-v geo=geo -v static=edns] -f report.awk runs.tsv
# With geo and static (mix names), a section "geo targets" follows the table: for the baseline
# server, its geo mix against its static mix (target: within 5% in CPU per query) and against every
# other server's geo mix (target: at least as low); for the others, their own geo against static.
# runs.tsv columns (header line first):
#   server mix kind(sat|rate) sent completed lost qps cpu_ns wall_ns req_bytes resp_bytes
#   dnsperf_cpu_ns other_cpu_ns
# "other" is the CPU that the rest of the machine used during a run (builds...): runs where it
# passed 10% of a CPU are flagged with "!".
function r(x, b) { return (b > 0 && x > 0) ? sprintf("%.2f", x / b) : "-" }
function num(x, fmt) { return (x > 0) ? sprintf(fmt, x) : "-" }
NR == 1 { next }
{
  key = $1 SUBSEP $2
  if (!(key in seen)) { seen[key] = 1; order[++n] = key; srv[n] = $1; mix[n] = $2 }
  if ($3 == "sat") {
    qps[key] = $7; comp[key] = $5
    qcpu[key] = ($8 > 0) ? $5 / ($8 / 1e9) : 0
    busy[key] = ($9 > 0) ? 100 * $8 / $9 : 0
    slost[key] = ($4 > 0) ? 100 * $6 / $4 : 0
    resp[key] = $11; req[key] = $10
    dns[key] = ($9 > 0) ? 100 * $12 / $9 : 0
    o = ($9 > 0) ? 100 * $13 / $9 : 0; if (o > oth[key]) oth[key] = o; soth[key] = o
  } else if ($3 == "rate") {
    us[key] = ($5 > 0) ? $8 / 1000 / $5 : 0
    got[key] = $7
    rlost[key] = ($4 > 0) ? 100 * $6 / $4 : 0
    o = ($9 > 0) ? 100 * $13 / $9 : 0; if (o > oth[key]) oth[key] = o; roth[key] = o
  }
}
END {
  if (n == 0) { print "no results"; exit 1 }
  # baseline per mix: `base` if measured, else the first server measured for that mix
  for (i = 1; i <= n; i++) {
    m = mix[i]
    if (srv[i] == base) b[m] = order[i]
    if (!(m in first)) first[m] = order[i]
  }
  note = ""
  for (m in first) if (!(m in b)) { b[m] = first[m]; split(first[m], p, SUBSEP); note = p[1] }
  bname = (note != "") ? note : base
  printf "%-9s %-6s %9s %10s %5s %11s %9s %7s %6s %6s |%7s %8s %7s\n", "server", "mix", "raw qps", "q/CPU-s", "busy", "CPU us/q", "at qps", "resp B", "lost%", "other", "qps", "q/CPU-s", "us/q"
  printf "%-9s %-6s %9s %10s %5s %11s %9s %7s %6s %6s |%24s\n", "", "", "(sat.)", "(sat.)", "(sat)", "(-Q " rate ")", "(-Q)", "", "(sat)", "CPU", "ratio to " bname
  for (i = 1; i <= n; i++) {
    k = order[i]; bk = b[mix[i]]
    flag = (oth[k] > 10) ? "!" : " "; if (flag == "!") flagged++
    printf "%-9s %-6s %9s %10s %5s %11s %9s %7s %6s %5.0f%%%s|%7s %8s %7s\n", srv[i], mix[i],
      num(qps[k], "%.0f"), num(qcpu[k], "%.0f"), num(busy[k], "%.0f%%"), num(us[k], "%.2f"),
      num(got[k], "%.0f"), (resp[k] != "" ? resp[k] : "-"), sprintf("%.2f", slost[k]), oth[k], flag,
      r(qps[k], qps[bk]), r(qcpu[k], qcpu[bk]), r(us[k], us[bk])
  }
  if (flagged) printf "! = other processes used more than 10%% of a CPU during a run of this row: its figures are unreliable\n"
  nt = 0
  if (geo != "" && static != "") {
    print ""
    print "geo targets (issue #3), server CPU per query; a ratio of CPU us/q above 1 = more CPU per query:"
    for (i = 1; i <= n; i++) {
      if (mix[i] != geo || !((srv[i], static) in seen)) continue
      if (srv[i] == bname) target(srv[i] " " geo, srv[i] " " static, order[i], srv[i] SUBSEP static, 1.05)
    }
    for (i = 1; i <= n; i++) {
      if (mix[i] != geo || srv[i] == bname || !((bname, geo) in seen)) continue
      target(bname " " geo, srv[i] " " geo, bname SUBSEP geo, order[i], 1.00)
    }
    for (i = 1; i <= n; i++) {
      if (mix[i] != geo || srv[i] == bname || !((srv[i], static) in seen)) continue
      target(srv[i] " " geo, srv[i] " " static, order[i], srv[i] SUBSEP static, 0)
    }
  }
  if (json != "") {
    printf "{\"baseline\": \"%s\", \"rate\": %d, \"results\": [\n", bname, rate > json
    for (i = 1; i <= n; i++) {
      k = order[i]; bk = b[mix[i]]
      printf "  {\"server\": \"%s\", \"mix\": \"%s\", \"raw_qps\": %.1f, \"queries_per_cpu_second\": %.1f, \"server_busy_pct\": %.1f, \"cpu_us_per_query\": %.3f, \"fixed_rate_achieved_qps\": %.1f, \"request_bytes\": %s, \"response_bytes\": %s, \"sat_lost_pct\": %.3f, \"rate_lost_pct\": %.3f, \"dnsperf_cpu_pct_sat\": %.1f, \"other_cpu_pct_sat\": %.1f, \"other_cpu_pct_rate\": %.1f, \"ratio\": {\"raw_qps\": %s, \"queries_per_cpu_second\": %s, \"cpu_us_per_query\": %s}}%s\n",
        srv[i], mix[i], qps[k], qcpu[k], busy[k], us[k], got[k], (req[k] != "" ? req[k] : "null"), (resp[k] != "" ? resp[k] : "null"),
        slost[k], rlost[k], dns[k], soth[k], roth[k], jn(r(qps[k], qps[bk])), jn(r(qcpu[k], qcpu[bk])), jn(r(us[k], us[bk])), (i < n ? "," : "") > json
    }
    printf "]", "" > json
    if (nt) {
      printf ", \"geo_targets\": [\n" > json
      for (i = 1; i <= nt; i++) printf "  %s%s\n", tj[i], (i < nt ? "," : "") > json
      printf "]" > json
    }
    printf "}\n" > json
    close(json)
  }
}
function jn(s) { return (s == "-") ? "null" : s }
# One line of the geo targets: a (row key ka) against b (row key kb); limit: the largest allowed
# CPU us/q ratio (and the smallest q/CPU-s ratio, 1/limit), 0 = for reference only.
function target(a, b, ka, kb, limit,   ru, rq, verdict, dist) {
  ru = r(us[ka], us[kb]); rq = r(qcpu[ka], qcpu[kb])
  dist = (oth[ka] > 10 || oth[kb] > 10) ? " (disturbed: !)" : ""
  if (limit == 0) verdict = "reference"
  else if (ru == "-" || rq == "-") verdict = "not measured"
  else verdict = (ru + 0 <= limit + 0.00001 && rq + 0 >= 1 / limit - 0.00001) ? "met" : "NOT met"
  printf "  %-30s CPU us/q x%s  q/CPU-s x%s  %s%s\n", a " / " b ":", ru, rq,
    (limit == 0 ? "" : sprintf("(target: us/q <= %.2f, q/CPU-s >= %.2f) ", limit, 1 / limit)) "-> " verdict, dist
  tj[++nt] = sprintf("{\"a\": \"%s\", \"b\": \"%s\", \"cpu_us_per_query_ratio\": %s, \"queries_per_cpu_second_ratio\": %s, \"limit\": %s, \"verdict\": \"%s\", \"disturbed\": %s}",
    a, b, jn(ru), jn(rq), (limit == 0 ? "null" : limit), verdict, (dist != "" ? "true" : "false"))
}
