# tools/bench.d/proxy.sh — sourced by tools/bench for --scenario proxy.
# meridian's L7 and L4 forwarders beside HAProxy (http, tcp) and nginx (http with upstream
# keepalive, stream), all against the same two nginx backends serving a static 200.
# wrk -t1 -c50 for --seconds; proxy pinned to the server CPU, wrk and backends to the other.
# Figures: req/s, and proxy CPU-seconds per 100k requests (summed over the proxy's process
# tree), with ratios to meridian (L7 rows to meridian-l7, L4 rows to meridian-l4).
# Uses tools/bench's helpers: say, die, tree_pids, tree_cpu_ns, pin_tree, free_port, wait_quiet,
# as_root, srv_cpu, cli_cpu, seconds, work, logs, out, install, have_meridian.

proxy_need() {  # binary package
  command -v "$1" >/dev/null || [ -x "/usr/sbin/$1" ] && return 0
  [ "$install" -eq 1 ] || return 1
  say "installing $2"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >>"$logs/apt.log" 2>&1 ||
    { as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$logs/apt.log" 2>&1 &&
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >>"$logs/apt.log" 2>&1; }
  command -v "$1" >/dev/null || [ -x "/usr/sbin/$1" ]
}

proxy_wait_port() {  # port pid log
  local i
  for i in $(seq 150); do
    kill -0 "$2" 2>/dev/null || { say "process exited; tail of $3:"; tail -n 10 "$3" >&2; return 1; }
    [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ] && return 0
    sleep 0.2
  done
  say "nothing listens on $1 after 30 s (see $3)"; return 1
}

proxy_backends_start() {
  local d="$work/backends" p
  mkdir -p "$d/tmp"
  be1=$(free_port) && be2=$(free_port) || die "no free ports"
  cat >"$d/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $d/nginx.pid;
error_log $logs/backends-nginx.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $d/tmp; proxy_temp_path $d/tmp; fastcgi_temp_path $d/tmp;
  uwsgi_temp_path $d/tmp; scgi_temp_path $d/tmp;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$be1; location / { return 200 "ok\n"; } }
  server { listen 127.0.0.1:$be2; location / { return 200 "ok\n"; } }
}
CONF
  taskset -c "$cli_cpu" nginx -c "$d/nginx.conf" -p "$d" >"$logs/backends.out" 2>&1 &
  be_pid=$!
  proxy_wait_port "$be2" "$be_pid" "$logs/backends.out" || die "backends did not start"
  for p in $(tree_pids "$be_pid"); do taskset -a -p -c "$cli_cpu" "$p" >/dev/null 2>&1; done
}

# start_p_NAME PORT: sets srv_pid
start_p_meridian() {  # $1 port, $2 l4|l7
  local d="$work/meridian-$2" dns mode=$2
  mkdir -p "$d/zones"
  dns=$(free_port)
  printf '{"origin": "bench.test.", "ttl": 300, "soa": {"mname": "ns1", "rname": "hostmaster", "serial": 1, "refresh": 7200, "retry": 900, "expire": 1209600, "minimum": 300}, "records": {"@": {"NS": "ns1"}, "ns1": {"A": "127.0.0.1"}, "app": {"service": "bench"}}}\n' >"$d/zones/bench.test.json"
  cat >"$d/meridian.json" <<CONF
{"dns": {"listen": ["127.0.0.1:$dns"], "threads": 1}, "zones": "zones/",
 "services": {"bench": {"policy": "weighted", "regions": {"r1": {
   "endpoints": ["127.0.0.1"],
   "backends": ["127.0.0.1:$be1", "127.0.0.1:$be2"],
   "forward": {"$mode": {"listen": "127.0.0.1:$1"}}}}}}}
CONF
  taskset -c "$srv_cpu" "$meridian_bin" serve --config "$d/meridian.json" >"$logs/meridian-$mode.log" 2>&1 &
  srv_pid=$!
}
start_p_meridian_l7() { start_p_meridian "$1" l7; }
start_p_meridian_l4() { start_p_meridian "$1" l4; }

start_p_haproxy() {  # $1 port, $2 http|tcp
  local d="$work/haproxy-$2"
  mkdir -p "$d"
  cat >"$d/haproxy.cfg" <<CONF
global
  nbthread 1
  maxconn 4096
defaults
  mode $2
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  $( [ "$2" = http ] && echo "option http-keep-alive" )
frontend f
  bind 127.0.0.1:$1
  default_backend b
backend b
  balance roundrobin
  $( [ "$2" = http ] && echo "http-reuse always" )
  server s1 127.0.0.1:$be1
  server s2 127.0.0.1:$be2
CONF
  taskset -c "$srv_cpu" haproxy -f "$d/haproxy.cfg" -db >"$logs/haproxy-$2.log" 2>&1 &
  srv_pid=$!
}
start_p_haproxy_http() { start_p_haproxy "$1" http; }
start_p_haproxy_tcp() { start_p_haproxy "$1" tcp; }

start_p_nginx() {  # $1 port, $2 http|stream
  local d="$work/nginx-$2" mod=""
  mkdir -p "$d/tmp"
  [ "$2" = stream ] && for m in /usr/lib/nginx/modules/ngx_stream_module.so; do [ -f "$m" ] && mod="load_module $m;"; done
  if [ "$2" = http ]; then
    body="http { access_log off; client_body_temp_path $d/tmp; proxy_temp_path $d/tmp; fastcgi_temp_path $d/tmp;
      uwsgi_temp_path $d/tmp; scgi_temp_path $d/tmp; keepalive_requests 1000000;
      upstream b { server 127.0.0.1:$be1; server 127.0.0.1:$be2; keepalive 64; }
      server { listen 127.0.0.1:$1; location / { proxy_pass http://b; proxy_http_version 1.1;
        proxy_set_header Connection \"\"; } } }"
  else
    body="stream { upstream b { server 127.0.0.1:$be1; server 127.0.0.1:$be2; }
      server { listen 127.0.0.1:$1; proxy_pass b; } }"
  fi
  printf '%s\nworker_processes 1;\ndaemon off;\npid %s/nginx.pid;\nerror_log %s warn;\nevents { worker_connections 4096; }\n%s\n' \
    "$mod" "$d" "$logs/nginx-$2.err" "$body" >"$d/nginx.conf"
  taskset -c "$srv_cpu" nginx -c "$d/nginx.conf" -p "$d" >"$logs/nginx-$2.log" 2>&1 &
  srv_pid=$!
}
start_p_nginx_http() { start_p_nginx "$1" http; }
start_p_nginx_stream() { start_p_nginx "$1" stream; }

proxy_results="$out/proxy-runs.tsv"

proxy_run() {  # name
  local name=$1 port c0 c1 log="$logs/wrk-$1.txt"
  wait_quiet
  port=$(free_port) || { say "no free port for $name"; return 0; }
  say "$name: starting on 127.0.0.1:$port (CPU $srv_cpu)"
  "start_p_${name//-/_}" "$port" || { say "skipping $name: could not start"; stop_server; return 0; }
  proxy_wait_port "$port" "$srv_pid" "$logs/$name.log" || { say "skipping $name"; stop_server; return 0; }
  sleep 0.3
  pin_tree "$srv_pid"
  if ! curl -s --max-time 5 "http://127.0.0.1:$port/" | grep -q ok; then
    say "skipping $name: no 200 through it"; stop_server; return 0
  fi
  taskset -c "$cli_cpu" wrk -t1 -c50 -d1s "http://127.0.0.1:$port/" >/dev/null 2>&1   # warm-up
  c0=$(tree_cpu_ns "$srv_pid")
  taskset -c "$cli_cpu" wrk -t1 -c50 -d"${seconds}s" "http://127.0.0.1:$port/" >"$log" 2>&1
  c1=$(tree_cpu_ns "$srv_pid")
  awk -v n="$name" -v cpu="$c0 $c1" '
    / requests in / { req = $1 }
    /Requests\/sec:/ { rps = $2 }
    /Non-2xx or 3xx responses:/ { bad = $5 }
    /Socket errors:/ { errs = $0 }
    END { split(cpu, c, " "); s = (c[2] - c[1]) / 1e9
          printf "%s\t%.0f\t%.0f\t%.3f\t%.3f\t%d\n", n, req, rps, s, (req > 0 ? s / (req / 1e5) : 0), bad }' \
    "$log" >>"$proxy_results"
  tail -n 1 "$proxy_results" | awk -F'\t' '{ printf "bench:   %-14s %8.0f req/s  %9.0f requests  proxy CPU %.2f s  = %.3f CPU-s/100k  non-2xx %d\n", $1, $3, $2, $4, $5, $6 }' >&2
  stop_server
}

proxy_main() {
  proxy_need wrk wrk || die "wrk is needed"
  proxy_need nginx nginx || die "nginx is needed for the backends"
  proxy_need curl curl || die "curl is needed"
  proxy_need haproxy haproxy || say "haproxy missing: skipped"
  [ -f /usr/lib/nginx/modules/ngx_stream_module.so ] || proxy_need_stream=1
  [ "${proxy_need_stream:-0}" -eq 1 ] && [ "$install" -eq 1 ] &&
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q libnginx-mod-stream >>"$logs/apt.log" 2>&1
  have_meridian || say "no meridian binary: meridian rows are skipped"
  printf 'proxy\trequests\treq_per_s\tproxy_cpu_s\tcpu_s_per_100k\tnon_2xx\n' >"$proxy_results"
  proxy_backends_start
  local list="${proxy_only:-meridian-l7,meridian-l4,haproxy-http,haproxy-tcp,nginx-http,nginx-stream}" p
  for p in ${list//,/ }; do
    case $p in haproxy-*) command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || continue ;; esac
    case $p in meridian-*) [ -x "${meridian_bin:-}" ] || continue ;; esac
    proxy_run "$p"
  done
  kill "$be_pid" 2>/dev/null; wait "$be_pid" 2>/dev/null
  {
    cat "$out/versions.txt"
    echo "peers: $( (haproxy -v 2>/dev/null || /usr/sbin/haproxy -v 2>/dev/null) | head -n 1 | cut -d' ' -f1-3); $(nginx -v 2>&1 | head -n 1)"
    [ -n "${meridian_bin:-}" ] && echo "meridian: $(version_meridian)"
    echo
    echo "proxy scenario: wrk -t1 -c50 -d${seconds}s, proxy on CPU $srv_cpu, wrk + 2 nginx backends on CPU $cli_cpu"
    awk -F'\t' 'NR == 1 { next }
      { n[NR] = $1; rps[NR] = $3; cpu[NR] = $5; if ($1 == "meridian-l7") { m7r = $3; m7c = $5 } if ($1 == "meridian-l4") { m4r = $3; m4c = $5 } }
      END { printf "%-14s %10s %16s %14s %14s\n", "proxy", "req/s", "CPU-s per 100k", "req/s ratio", "CPU ratio"
            for (i = 2; i <= NR; i++) { l4 = (n[i] ~ /l4|tcp|stream/); mr = l4 ? m4r : m7r; mc = l4 ? m4c : m7c
              printf "%-14s %10.0f %16.3f %14s %14s\n", n[i], rps[i], cpu[i],
                (mr > 0 ? sprintf("%.2f", rps[i] / mr) : "-"), (mc > 0 ? sprintf("%.2f", cpu[i] / mc) : "-") } }' "$proxy_results"
    echo "(ratios: to meridian-l7 for HTTP rows, to meridian-l4 for TCP rows; CPU ratio > 1 means the peer uses more CPU per request)"
  } | tee "$out/bench-results.txt"
}
