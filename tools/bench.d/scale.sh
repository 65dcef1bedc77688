# tools/bench.d/scale.sh — sourced by tools/bench for --scenario scale: real-size data.
# shellcheck shell=bash disable=SC2154  # variables and helpers come from tools/bench
# Zones of --scale-names names (default 100k and 1M; bench.d/scale-zone.awk) served by meridian,
# Knot and NSD (when installed): time from start to the first right answer, memory, reload after
# a one-record edit, and `meridian zone import` against Knot's load of the same master file.
# The GeoIP part is in bench.d/scale-geo.sh. One server runs at a time (srv_pid, so tools/bench's
# trap stops it); every wait has a deadline (--deadline seconds).
# Uses tools/bench's helpers: say, die, tree_pids, tree_cpu_ns, machine_busy_ns, free_port,
# wait_quiet, stop_server, have_meridian, meridian_bin, srv_pid, work, logs, out.

scale_origin=big.test.
scale_edit_addr=192.0.2.77    # h1's A after the edit (scale-zone.awk writes 10.0.0.1)
declare -A scale_val=()       # "work|server" -> figure
declare -A scale_other=()     # "work|server" -> % of a CPU used by the rest of the machine
scale_works=()                # rows, in order
scale_kind=""                 # start functions are scale_start_$scale_kind$NAME
scale_after_start=""
scale_edit_label="one-record edit"

declare -A scale_known=()
scale_note() {  # work server value [other%]
  [ -n "${scale_known["$1"]:-}" ] || { scale_known["$1"]=1; scale_works+=("$1"); }
  scale_val["$1|$2"]=$3
  [ -n "${4:-}" ] && scale_other["$1|$2"]=$4
  echo "$1|$2|$3|${4:-}" >>"$logs/scale-figures.txt"
}

scale_secs() { awk -v a="$1" -v b="$2" 'BEGIN { s = (b - a) / 1e9; printf((s < 1) ? "%.3f\n" : "%.2f\n", s) }'; }

# scale_poll PORT QNAME QTYPE PATTERN T0 [kdig options...]: asks the server with kdig over TCP
# (a closed port fails at once, where UDP would wait for a timeout) every 50 ms until the first
# line of the answer matches PATTERN (a glob); prints the seconds since T0 (ns). Fails when the
# server exits or --deadline seconds have passed.
scale_poll() {
  local port=$1 qname=$2 qtype=$3 want=$4 t0=$5 got now
  shift 5
  while :; do
    got=$(timeout 3 kdig +tcp +time=2 +retry=0 +short "$@" -p "$port" @127.0.0.1 "$qname" "$qtype" 2>/dev/null | head -n 1)
    now=$(date +%s%N)
    # shellcheck disable=SC2053
    if [[ $got == $want ]]; then scale_secs "$t0" "$now"; return 0; fi
    kill -0 "$srv_pid" 2>/dev/null || { say "  the server exited (last answer '$got')"; return 1; }
    if [ $(( (now - t0) / 1000000000 )) -ge "$scale_deadline" ]; then
      say "  no right answer to $qname $qtype after ${scale_deadline}s (last: '$got')"; return 1
    fi
    sleep 0.05
  done
}

# scale_mem PID: "RSS HWM" in MB, summed over the process tree (one process for meridian,
# Knot and gdnsd; NSD forks, and its forks share pages, so its sum overstates).
scale_mem() {
  local p files=()
  for p in $(tree_pids "$1"); do files+=(/proc/"$p"/status); done
  awk '/^VmRSS:/ { r += $2 } /^VmHWM:/ { h += $2 } END { printf "%.0f %.0f\n", r / 1024, h / 1024 }' "${files[@]}" 2>/dev/null
}

# scale_other_pct M0 T0 CPU_NS: % of one CPU that the rest of the machine used since T0 (ns) and
# the machine counter M0, minus CPU_NS of our server (the kdig polls count as others). /proc/stat
# counts in ticks updated lazily, so over a wait under a second this is rough (capped at nproc*100).
scale_other_pct() {
  local m1 t1; m1=$(machine_busy_ns); t1=$(date +%s%N)
  awk -v m="$(( m1 - $1 ))" -v w="$(( t1 - $2 ))" -v s="$3" -v cap="$(( $(nproc --all) * 100 ))" \
    'BEGIN { o = (w > 0) ? 100 * (m - s) / w : 0; if (o < 0) o = 0; if (o > cap) o = cap; printf "%.0f\n", o }'
}

# scale_run NAME TAG QNAME QTYPE PATTERN EDIT_FN EQNAME EQTYPE EPATTERN [kdig options]: starts
# NAME (scale_start_$scale_kind$NAME PORT, which sets srv_pid and scale_t0), polls for the first right answer,
# reads memory a second later, makes the edit (EDIT_FN PORT, which sets scale_t0 just before
# the change is visible to the server), polls for the edited answer, reads the peak again, stops.
# $scale_after_start, when set, runs after the first answer with PORT NAME (the geo part logs answers).
# Figures go to rows "TAG: ...".
scale_run() {
  local name=$1 tag=$2 qname=$3 qtype=$4 want=$5 edit=$6 eq=$7 et=$8 ew=$9 port m0 t cpu mem
  shift 9
  wait_quiet
  port=$(free_port) || { say "no free port for $name"; return 1; }
  say "$tag: $name on 127.0.0.1:$port"
  m0=$(machine_busy_ns)
  "scale_start_$scale_kind$name" "$port" || { say "  $name did not start"; stop_server; return 1; }
  if ! t=$(scale_poll "$port" "$qname" "$qtype" "$want" "$scale_t0" "$@"); then
    tail -n 5 "$logs/scale-$name.log" >&2 2>/dev/null; stop_server; return 1
  fi
  cpu=$(tree_cpu_ns "$srv_pid")
  scale_note "$tag: start to the first right answer (s)" "$name" "$t" "$(scale_other_pct "$m0" "$scale_t0" "$cpu")"
  scale_note "$tag: server CPU to the first right answer (s)" "$name" "$(scale_secs 0 "$cpu")"
  sleep 1
  mem=$(scale_mem "$srv_pid")
  scale_note "$tag: RSS serving (MB)" "$name" "${mem% *}"
  scale_note "$tag: peak RSS at start, VmHWM (MB)" "$name" "${mem#* }"
  say "  first answer after ${t}s, RSS ${mem% *} MB, peak ${mem#* } MB"
  [ -n "$scale_after_start" ] && "$scale_after_start" "$port" "$name"
  m0=$(machine_busy_ns); cpu=$(tree_cpu_ns "$srv_pid")
  if "$edit" "$port" && t=$(scale_poll "$port" "$eq" "$et" "$ew" "$scale_t0" "$@"); then
    cpu=$(( $(tree_cpu_ns "$srv_pid") - cpu ))
    scale_note "$tag: $scale_edit_label served after (s)" "$name" "$t" "$(scale_other_pct "$m0" "$scale_t0" "$cpu")"
    scale_note "$tag: server CPU until the edit was served (s)" "$name" "$(scale_secs 0 "$cpu")"
    mem=$(scale_mem "$srv_pid")
    scale_note "$tag: peak RSS after the edit, VmHWM (MB)" "$name" "${mem#* }"
    say "  edit served after ${t}s, peak ${mem#* } MB"
  fi
  stop_server
}

# ---------------------------------------------------------------- the big zone
scale_start_meridian() {  # port; the zone at $scale_dir/meridian/zones/big.test.json
  local d="$scale_dir/meridian"
  printf '{"dns": {"listen": ["127.0.0.1:%s"], "threads": 1}, "zones": "zones/"}\n' "$1" >"$d/meridian.json"
  scale_t0=$(date +%s%N)
  "$meridian_bin" serve --config "$d/meridian.json" >"$logs/scale-meridian.log" 2>&1 &
  srv_pid=$!
}
scale_edit_meridian() {  # the staged copy replaces the zone file by a rename; meridian watches it
  scale_t0=$(date +%s%N)
  mv -f "$scale_dir/stage/big.test.json" "$scale_dir/meridian/zones/big.test.json"
}

scale_start_knot() {
  local d="$scale_dir/knot"
  mkdir -p "$d/db"
  cat >"$d/knot.conf" <<EOF
server:
  rundir: "$d"
  pidfile: "$d/knot.pid"
  listen: 127.0.0.1@$1
  udp-workers: 1
  tcp-workers: 1
  background-workers: 1
control:
  listen: "$d/knot.sock"
database:
  storage: "$d/db"
log:
  - target: stderr
    any: info
template:
  - id: default
    storage: "$d"
    journal-content: none
    zonefile-sync: -1
    zonefile-load: whole
zone:
  - domain: $scale_origin
    file: "$d/big.test.zone"
EOF
  scale_t0=$(date +%s%N)
  knotd -c "$d/knot.conf" >"$logs/scale-knot.log" 2>&1 &
  srv_pid=$!
}
scale_edit_knot() {  # rename the edited master file into place, then knotc zone-reload
  scale_t0=$(date +%s%N)
  mv -f "$scale_dir/stage/big.test.zone" "$scale_dir/knot/big.test.zone"
  timeout "$scale_deadline" knotc -s "$scale_dir/knot/knot.sock" zone-reload "$scale_origin" >>"$logs/scale-knot.log" 2>&1
}

scale_start_nsd() {
  local d="$scale_dir/nsd"
  cat >"$d/nsd.conf" <<EOF
server:
  ip-address: 127.0.0.1@$1
  port: $1
  do-ip6: no
  server-count: 1
  username: ""
  chroot: ""
  zonesdir: "$d"
  database: ""
  zonelistfile: "$d/zone.list"
  pidfile: "$d/nsd.pid"
  xfrdfile: "$d/xfrd.state"
  xfrdir: "$d"
  logfile: "$logs/scale-nsd.log"
  rrl-ratelimit: 0
remote-control:
  control-enable: no
zone:
  name: ${scale_origin%.}
  zonefile: "$d/big.test.zone"
EOF
  scale_t0=$(date +%s%N)
  nsd -d -c "$d/nsd.conf" >>"$logs/scale-nsd.log" 2>&1 &
  srv_pid=$!
}
scale_edit_nsd() {  # rename the edited master file into place, then SIGHUP (rereads changed zone files)
  scale_t0=$(date +%s%N)
  mv -f "$scale_dir/stage/big.test.zone" "$scale_dir/nsd/big.test.zone"
  kill -HUP "$srv_pid"
}

# scale_stage NAME: the edited copy of NAME's zone file (h1 A -> 192.0.2.77, serial 2), made
# before the clock starts, in a folder the server does not watch, on the same file system.
scale_stage() {
  mkdir -p "$scale_dir/stage"
  if [ "$1" = meridian ]; then
    sed -e "s/\"h1\": {\"A\": \"10.0.0.1\"/\"h1\": {\"A\": \"$scale_edit_addr\"/" -e 's/"serial": 1,/"serial": 2,/' \
      "$scale_dir/big.test.json" >"$scale_dir/stage/big.test.json"
  else
    sed -e "s/^h1\tIN A 10\.0\.0\.1\$/h1\tIN A $scale_edit_addr/" -e 's/ hostmaster 1 7200 / hostmaster 2 7200 /' \
      "$scale_dir/big.test.zone" >"$scale_dir/stage/big.test.zone"
  fi
}

# scale_import N: `meridian zone import` of the master file: wall time and peak RSS (GNU time),
# and a check that the output has the last name.
scale_import() {
  local n=$1 tag=$2 f="$scale_dir/imported.json" t0 t1 rc m0 cpu
  say "$tag: meridian zone import"
  wait_quiet
  m0=$(machine_busy_ns); t0=$(date +%s%N)
  timeout "$scale_deadline" /usr/bin/time -f 'maxrss_kb %M cpu_s %U %S' -o "$logs/scale-import-$n.time" \
    "$meridian_bin" zone import "$scale_dir/big.test.zone" --origin "$scale_origin" -o "$f" >"$logs/scale-import-$n.log" 2>&1
  rc=$?; t1=$(date +%s%N)
  if [ $rc -ne 0 ]; then
    say "  zone import failed or passed the deadline (exit $rc; $logs/scale-import-$n.log)"; return 1
  fi
  grep -q "\"h$n\"" "$f" || { say "  zone import: h$n is missing from the output"; return 1; }
  cpu=$(awk '/maxrss_kb/ { printf "%.0f\n", ($4 + $5) * 1e9 }' "$logs/scale-import-$n.time")
  scale_note "$tag: master file: meridian zone import, peer: its start (s)" meridian "$(scale_secs "$t0" "$t1")" \
    "$(scale_other_pct "$m0" "$t0" "${cpu:-0}")"
  scale_note "$tag: master file: zone import's CPU, peer: its start's (s)" meridian "$(scale_secs 0 "${cpu:-0}")"
  scale_note "$tag: master file: zone import's peak RSS, peer: its start's (MB)" meridian \
    "$(awk '/maxrss_kb/ { printf "%.0f\n", $2 / 1024 }' "$logs/scale-import-$n.time")"
  say "  import took ${scale_val["$tag: master file: meridian zone import, peer: its start (s)|meridian"]}s"
  rm -f "$f"
}

scale_zones() {
  local n tag last name
  for n in ${scale_names//,/ }; do
    tag="$(awk -v n="$n" 'BEGIN { if (n % 1000000 == 0) printf "%dM", n / 1000000; else if (n % 1000 == 0) printf "%dk", n / 1000; else print n }') names"
    scale_dir="$work/scale/zone-$n"
    mkdir -p "$scale_dir"/{meridian/zones,knot,nsd}
    awk -v names="$n" -v origin="$scale_origin" -v master="$scale_dir/big.test.zone" -v json="$scale_dir/big.test.json" \
      -f "$aux/scale-zone.awk" /dev/null >&2 || die "zone generation failed"
    cat "$scale_dir/big.test.zone" "$scale_dir/big.test.json" >/dev/null   # warm page cache for all alike
    last=$(awk -v i="$n" 'BEGIN { print "10." int(i / 65536) % 256 "." int(i / 256) % 256 "." i % 256 }')
    scale_import "$n" "$tag"
    for name in ${only//,/ }; do
      case $name in
        meridian) have_meridian || continue
                  ln -f "$scale_dir/big.test.json" "$scale_dir/meridian/zones/big.test.json" ;;
        knot|nsd) command -v "${name/knot/knotd}" >/dev/null || { say "$tag: skipping $name (not installed)"; continue; }
                  ln -f "$scale_dir/big.test.zone" "$scale_dir/$name/big.test.zone" ;;
        *) continue ;;
      esac
      scale_stage "$name"
      scale_run "$name" "$tag" "h$n.$scale_origin" A "$last" "scale_edit_$name" "h1.$scale_origin" A "$scale_edit_addr"
    done
    # Knot and NSD load the master file when they start: that is the peer figure for the import
    for name in knot nsd; do
      [ -n "${scale_val["$tag: start to the first right answer (s)|$name"]:-}" ] || continue
      scale_note "$tag: master file: meridian zone import, peer: its start (s)" "$name" \
        "${scale_val["$tag: start to the first right answer (s)|$name"]}" "${scale_other["$tag: start to the first right answer (s)|$name"]:-}"
      scale_note "$tag: master file: zone import's CPU, peer: its start's (s)" "$name" \
        "${scale_val["$tag: server CPU to the first right answer (s)|$name"]}"
      scale_note "$tag: master file: zone import's peak RSS, peer: its start's (MB)" "$name" \
        "${scale_val["$tag: peak RSS at start, VmHWM (MB)|$name"]}"
    done
    rm -rf "$scale_dir"   # the 1M zone's files are about 100 MB each
  done
}

# ---------------------------------------------------------------- report
scale_report() {
  local f="$out/scale-results.txt" w p peers=() v mv ratio o
  for p in knot nsd gdnsd; do [[ " ${!scale_val[*]} " == *"|$p "* ]] && peers+=("$p"); done
  {
    cat "$out/versions.txt"
    echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc --all) CPUs)"
    echo
    echo "| work | meridian | peer | ratio |"
    echo "| --- | --- | --- | --- |"
    for w in "${scale_works[@]}"; do
      mv=${scale_val["$w|meridian"]:-}
      o=${scale_other["$w|meridian"]:+ (others ${scale_other["$w|meridian"]}%)}
      local any=0
      for p in "${peers[@]}"; do
        v=${scale_val["$w|$p"]:-}
        [ -n "$v" ] || continue
        any=1
        ratio=$(awk -v a="${mv:-x}" -v b="$v" 'BEGIN { if (a == "x" || b + 0 == 0) print "-"; else printf "x%.2f\n", a / b }')
        echo "| $w | ${mv:--}$o | $p ${v}${scale_other["$w|$p"]:+ (others ${scale_other["$w|$p"]}%)} | $ratio |"
      done
      [ $any -eq 1 ] || echo "| $w | ${mv:--}$o | - | - |"
    done
    echo
    echo "ratio: meridian's figure divided by the peer's (above 1: meridian takes longer or more memory)."
    echo "others: % of one CPU the rest of the machine used during that wait (kdig polls included, ~2%);"
    echo "the machine has $(nproc --all) CPUs shared with other work, so wall times move with it: compare"
    echo "the server-CPU rows, and repeat a run before trusting a ratio from a row with a high 'others'."
  } >"$f"
  echo
  cat "$f"
  echo
  echo "results: $f (every figure: $logs/scale-figures.txt, logs: $logs)"
}

scale_main() {
  command -v kdig >/dev/null || die "scenario scale needs kdig (knot-dnsutils)"
  [ -x /usr/bin/time ] || die "scenario scale needs GNU time (/usr/bin/time)"
  have_meridian || die "scenario scale needs meridian"
  echo "meridian: $(version_meridian)" >>"$out/versions.txt"
  command -v knotd >/dev/null && echo "knot: $(version_knot)" >>"$out/versions.txt"
  command -v nsd >/dev/null && echo "nsd: $(version_nsd)" >>"$out/versions.txt"
  command -v gdnsd >/dev/null && echo "gdnsd: $(version_gdnsd)" >>"$out/versions.txt"
  : >"$logs/scale-figures.txt"
  [[ ",$scale_parts," == *",zones,"* ]] && scale_zones
  if [[ ",$scale_parts," == *",geo,"* ]]; then
    # shellcheck source=tools/bench.d/scale-geo.sh
    source "$aux/scale-geo.sh"
    scale_geo
  fi
  [ ${#scale_works[@]} -gt 0 ] || die "nothing was measured"
  scale_report
}
