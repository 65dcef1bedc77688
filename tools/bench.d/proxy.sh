# tools/bench.d/proxy.sh — sourced by tools/bench for --scenario proxy.
# meridian's L7 and L4 forwarders beside HAProxy (http, tcp) and nginx (http with upstream
# keepalive, stream), all against the same two nginx backends serving a static 200.
# wrk -t1 -c50 for --seconds; proxy pinned to the server CPU, wrk and backends to the other.
# TLS rows terminate TLS 1.3 with one ECDSA P-256 certificate (made here with openssl):
#   *-tls  HTTPS with keep-alive (wrk), *-hs  one full handshake per request (wrk with
#   Connection: close; wrk does not resume sessions), *-h2  HTTP/2 over TLS (h2load -c50 -m10;
#   backends still HTTP/1.1). A proxy that cannot serve a row (no h2) is skipped.
# Figures: req/s, and proxy CPU-seconds per 100k requests (summed over the proxy's process
# tree), with ratios to meridian's row of the same kind (http, tcp, tls, hs, h2).
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

proxy_cert() {  # one ECDSA P-256 certificate for 127.0.0.1 / localhost, for every TLS row
  local d="$work/tls"
  [ -f "$d/cert.pem" ] && return 0
  mkdir -p "$d"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$d/key.pem" -out "$d/cert.pem" >"$logs/openssl.log" 2>&1
  cat "$d/cert.pem" "$d/key.pem" >"$d/haproxy.pem"
}

# start_p_NAME PORT: sets srv_pid
start_p_meridian() {  # $1 port, $2 l4|l7, $3 tls (optional)
  local d="$work/meridian-$2${3:+-$3}" dns mode=$2 tls=""
  [ -n "${3:-}" ] && tls=", \"tls\": {\"certificates\": [{\"cert\": \"$work/tls/cert.pem\", \"key\": \"$work/tls/key.pem\"}], \"alpn\": [\"h2\", \"http/1.1\"]}"
  mkdir -p "$d/zones"
  dns=$(free_port)
  printf '{"origin": "bench.test.", "ttl": 300, "soa": {"mname": "ns1", "rname": "hostmaster", "serial": 1, "refresh": 7200, "retry": 900, "expire": 1209600, "minimum": 300}, "records": {"@": {"NS": "ns1"}, "ns1": {"A": "127.0.0.1"}, "app": {"service": "bench"}}}\n' >"$d/zones/bench.test.json"
  cat >"$d/meridian.json" <<CONF
{"dns": {"listen": ["127.0.0.1:$dns"], "threads": 1}, "zones": "zones/",
 "services": {"bench": {"policy": "weighted", "regions": {"r1": {
   "endpoints": ["127.0.0.1"],
   "backends": ["127.0.0.1:$be1", "127.0.0.1:$be2"],
   "forward": {"$mode": {"listen": "127.0.0.1:$1"$tls}}}}}}}
CONF
  taskset -c "$srv_cpu" "$meridian_bin" serve --config "$d/meridian.json" >"$logs/meridian-$mode${3:+-$3}.log" 2>&1 &
  srv_pid=$!
}
start_p_meridian_l7() { start_p_meridian "$1" l7; }
start_p_meridian_l4() { start_p_meridian "$1" l4; }
start_p_meridian_l7_tls() { start_p_meridian "$1" l7 tls; }
start_p_meridian_l7_hs() { start_p_meridian "$1" l7 tls; }
start_p_meridian_l7_h2() { start_p_meridian "$1" l7 tls; }

start_p_haproxy() {  # $1 port, $2 http|tcp, $3 tls (optional: http mode with TLS and ALPN h2)
  local d="$work/haproxy-$2${3:+-$3}" bind=""
  [ -n "${3:-}" ] && bind="ssl crt $work/tls/haproxy.pem alpn h2,http/1.1 ssl-min-ver TLSv1.2"
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
  bind 127.0.0.1:$1 $bind
  default_backend b
backend b
  balance roundrobin
  $( [ "$2" = http ] && echo "http-reuse always" )
  server s1 127.0.0.1:$be1
  server s2 127.0.0.1:$be2
CONF
  taskset -c "$srv_cpu" haproxy -f "$d/haproxy.cfg" -db >"$logs/haproxy-$2${3:+-$3}.log" 2>&1 &
  srv_pid=$!
}
start_p_haproxy_http() { start_p_haproxy "$1" http; }
start_p_haproxy_tcp() { start_p_haproxy "$1" tcp; }
start_p_haproxy_tls() { start_p_haproxy "$1" http tls; }
start_p_haproxy_hs() { start_p_haproxy "$1" http tls; }
start_p_haproxy_h2() { start_p_haproxy "$1" http tls; }

start_p_nginx() {  # $1 port, $2 http|stream, $3 tls (optional: TLS and http2 on the listener)
  local d="$work/nginx-$2${3:+-$3}" mod="" listen="127.0.0.1:$1"
  [ -n "${3:-}" ] && listen="127.0.0.1:$1 ssl http2; ssl_certificate $work/tls/cert.pem; ssl_certificate_key $work/tls/key.pem; ssl_protocols TLSv1.2 TLSv1.3; ssl_session_cache shared:S:1m"
  mkdir -p "$d/tmp"
  [ "$2" = stream ] && for m in /usr/lib/nginx/modules/ngx_stream_module.so; do [ -f "$m" ] && mod="load_module $m;"; done
  if [ "$2" = http ]; then
    body="http { access_log off; client_body_temp_path $d/tmp; proxy_temp_path $d/tmp; fastcgi_temp_path $d/tmp;
      uwsgi_temp_path $d/tmp; scgi_temp_path $d/tmp; keepalive_requests 1000000;
      upstream b { server 127.0.0.1:$be1; server 127.0.0.1:$be2; keepalive 64; }
      server { listen $listen; location / { proxy_pass http://b; proxy_http_version 1.1;
        proxy_set_header Connection \"\"; } } }"
  else
    body="stream { upstream b { server 127.0.0.1:$be1; server 127.0.0.1:$be2; }
      server { listen 127.0.0.1:$1; proxy_pass b; } }"
  fi
  printf '%s\nworker_processes 1;\ndaemon off;\npid %s/nginx.pid;\nerror_log %s warn;\nevents { worker_connections 4096; }\n%s\n' \
    "$mod" "$d" "$logs/nginx-$2.err" "$body" >"$d/nginx.conf"
  taskset -c "$srv_cpu" nginx -c "$d/nginx.conf" -p "$d" >"$logs/nginx-$2${3:+-$3}.log" 2>&1 &
  srv_pid=$!
}
start_p_nginx_http() { start_p_nginx "$1" http; }
start_p_nginx_stream() { start_p_nginx "$1" stream; }
start_p_nginx_tls() { start_p_nginx "$1" http tls; }
start_p_nginx_hs() { start_p_nginx "$1" http tls; }
start_p_nginx_h2() { start_p_nginx "$1" http tls; }

# The kind of a row (http, tcp, tls, hs, h2): which client measures it, and whose ratio.
proxy_kind() {
  case $1 in
    *-tls) echo tls ;; *-hs) echo hs ;; *-h2) echo h2 ;;
    *-l4|*-tcp|*-stream) echo tcp ;; *) echo http ;;
  esac
}

proxy_results="$out/proxy-runs.tsv"

proxy_run() {  # name
  local name=$1 port c0 c1 log="$logs/wrk-$1.txt" kind scheme=http probe=() load=()
  kind=$(proxy_kind "$name")
  wait_quiet
  port=$(free_port) || { say "no free port for $name"; return 0; }
  say "$name: starting on 127.0.0.1:$port (CPU $srv_cpu)"
  "start_p_${name//-/_}" "$port" || { say "skipping $name: could not start"; stop_server; return 0; }
  proxy_wait_port "$port" "$srv_pid" "$logs/$name.log" || { say "skipping $name"; stop_server; return 0; }
  sleep 0.3
  pin_tree "$srv_pid"
  case $kind in tls|hs|h2) scheme=https ;; esac
  probe=(curl -s --max-time 5 --cacert "$work/tls/cert.pem")
  [ "$kind" = h2 ] && probe+=(--http2) || probe+=(--http1.1)
  if ! "${probe[@]}" "$scheme://127.0.0.1:$port/" | grep -q ok; then
    say "skipping $name: no 200 through it"; stop_server; return 0
  fi
  if [ "$kind" = h2 ] && ! "${probe[@]}" -o /dev/null -w '%{http_version}' "$scheme://127.0.0.1:$port/" | grep -q '^2'; then
    say "skipping $name: it does not negotiate h2"; stop_server; return 0
  fi
  case $kind in
    h2) load=(h2load -c 50 -m 10) ;;
    hs) load=(wrk -t1 -c50 -H "Connection: close") ;;
    *) load=(wrk -t1 -c50) ;;
  esac
  if [ "$kind" = h2 ]; then
    taskset -c "$cli_cpu" "${load[@]}" -D 1 "$scheme://127.0.0.1:$port/" >/dev/null 2>&1   # warm-up
    c0=$(tree_cpu_ns "$srv_pid")
    taskset -c "$cli_cpu" "${load[@]}" -D "$seconds" "$scheme://127.0.0.1:$port/" >"$log" 2>&1
    c1=$(tree_cpu_ns "$srv_pid")
    # h2load: "requests: N total, N started, N done, S succeeded, F failed, ..."; rate from S / seconds
    awk -v n="$name" -v cpu="$c0 $c1" -v secs="$seconds" '
      /^requests:/ { ok = $8; bad = $10 }
      /^status codes:/ { s2 = $3 }
      END { split(cpu, c, " "); s = (c[2] - c[1]) / 1e9
            printf "%s\t%.0f\t%.0f\t%.3f\t%.3f\t%d\n", n, ok, ok / secs, s, (ok > 0 ? s / (ok / 1e5) : 0), ok - s2 + bad }' \
      "$log" >>"$proxy_results"
  else
    taskset -c "$cli_cpu" "${load[@]}" -d1s "$scheme://127.0.0.1:$port/" >/dev/null 2>&1   # warm-up
    c0=$(tree_cpu_ns "$srv_pid")
    taskset -c "$cli_cpu" "${load[@]}" -d"${seconds}s" "$scheme://127.0.0.1:$port/" >"$log" 2>&1
    c1=$(tree_cpu_ns "$srv_pid")
    awk -v n="$name" -v cpu="$c0 $c1" '
      / requests in / { req = $1 }
      /Requests\/sec:/ { rps = $2 }
      /Non-2xx or 3xx responses:/ { bad = $5 }
      /Socket errors:/ { errs = $0 }
      END { split(cpu, c, " "); s = (c[2] - c[1]) / 1e9
            printf "%s\t%.0f\t%.0f\t%.3f\t%.3f\t%d\n", n, req, rps, s, (req > 0 ? s / (req / 1e5) : 0), bad }' \
      "$log" >>"$proxy_results"
  fi
  tail -n 1 "$proxy_results" | awk -F'\t' '{ printf "bench:   %-17s %8.0f req/s  %9.0f requests  proxy CPU %.2f s  = %.3f CPU-s/100k  non-2xx %d\n", $1, $3, $2, $4, $5, $6 }' >&2
  stop_server
}

proxy_main() {
  proxy_need wrk wrk || die "wrk is needed"
  proxy_need nginx nginx || die "nginx is needed for the backends"
  proxy_need curl curl || die "curl is needed"
  proxy_need openssl openssl || die "openssl is needed for the TLS rows"
  proxy_need h2load nghttp2-client || say "h2load missing: h2 rows skipped"
  proxy_need haproxy haproxy || say "haproxy missing: skipped"
  [ -f /usr/lib/nginx/modules/ngx_stream_module.so ] || proxy_need_stream=1
  [ "${proxy_need_stream:-0}" -eq 1 ] && [ "$install" -eq 1 ] &&
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q libnginx-mod-stream >>"$logs/apt.log" 2>&1
  have_meridian || say "no meridian binary: meridian rows are skipped"
  printf 'proxy\trequests\treq_per_s\tproxy_cpu_s\tcpu_s_per_100k\tnon_2xx\n' >"$proxy_results"
  proxy_backends_start
  proxy_cert
  local list="${proxy_only:-meridian-l7,meridian-l4,haproxy-http,haproxy-tcp,nginx-http,nginx-stream,meridian-l7-tls,haproxy-tls,nginx-tls,meridian-l7-hs,haproxy-hs,nginx-hs,meridian-l7-h2,haproxy-h2,nginx-h2}" p
  for p in ${list//,/ }; do
    case $p in haproxy-*) command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || continue ;; esac
    case $p in *-h2) command -v h2load >/dev/null || continue ;; esac
    case $p in meridian-*) [ -x "${meridian_bin:-}" ] || continue ;; esac
    proxy_run "$p"
  done
  kill "$be_pid" 2>/dev/null; wait "$be_pid" 2>/dev/null
  {
    cat "$out/versions.txt"
    echo "peers: $( (haproxy -v 2>/dev/null || /usr/sbin/haproxy -v 2>/dev/null) | head -n 1 | cut -d' ' -f1-3); $(nginx -v 2>&1 | head -n 1)"
    [ -n "${meridian_bin:-}" ] && echo "meridian: $(version_meridian)"
    echo
    echo "proxy scenario: wrk -t1 -c50 -d${seconds}s (h2: h2load -c50 -m10 -D${seconds}), proxy on CPU $srv_cpu, client + 2 nginx backends on CPU $cli_cpu"
    echo "TLS rows: TLS 1.3, ECDSA P-256; -tls keep-alive HTTPS, -hs a full handshake per request, -h2 HTTP/2 over TLS"
    awk -F'\t' 'function kind(x) { if (x ~ /-tls$/) return "tls"; if (x ~ /-hs$/) return "hs"; if (x ~ /-h2$/) return "h2"
                                   if (x ~ /l4|tcp|stream/) return "tcp"; return "http" }
      NR == 1 { next }
      { n[NR] = $1; rps[NR] = $3; cpu[NR] = $5; if ($1 ~ /^meridian-/) { mr[kind($1)] = $3; mc[kind($1)] = $5 } }
      END { printf "%-17s %10s %16s %14s %14s\n", "proxy", "req/s", "CPU-s per 100k", "req/s ratio", "CPU ratio"
            for (i = 2; i <= NR; i++) { k = kind(n[i])
              printf "%-17s %10.0f %16.3f %14s %14s\n", n[i], rps[i], cpu[i],
                (mr[k] > 0 ? sprintf("%.2f", rps[i] / mr[k]) : "-"), (mc[k] > 0 ? sprintf("%.2f", cpu[i] / mc[k]) : "-") } }' "$proxy_results"
    echo "(ratios: to meridian's row of the same kind; CPU ratio > 1 means the peer uses more CPU per request)"
  } | tee "$out/bench-results.txt"
}
