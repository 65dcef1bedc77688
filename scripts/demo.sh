#!/usr/bin/env bash
# The demo: installs missing Debian packages, builds meridian, starts six small
# demo HTTP backends (127.0.0.1:9001-9006) and serves the bundled example zone,
# demo geodata, health files and forwarders on 127.0.0.1:5300 / [::1]:5300,
# admin on 127.0.0.1:9153. Ctrl-C stops everything.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/deps.sh" python3
"$root/scripts/build.sh" "$root/build/release" -DCMAKE_BUILD_TYPE=Release -DMERIDIAN_TESTS=OFF

work=$(mktemp -d /tmp/meridian-demo.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

# Backends: eu-west 9001-9002, us-east 9003-9004, ap-south 9005-9006.
names=(eu-west-1 eu-west-2 us-east-1 us-east-2 ap-south-1 ap-south-2)
for i in 0 1 2 3 4 5; do
  port=$((9001 + i))
  mkdir -p "$work/$port"
  echo "hello from ${names[$i]} (backend 127.0.0.1:$port)" > "$work/$port/index.html"
  python3 -m http.server "$port" --bind 127.0.0.1 --directory "$work/$port" >/dev/null 2>&1 &
  pids+=($!)
done

cat >&2 <<'MSG'
meridian demo: DNS on 127.0.0.1:5300 and [::1]:5300, status page on http://127.0.0.1:9153/
  dig @127.0.0.1 -p 5300 www.example.com A +subnet=198.51.100.0/24   # Europe -> eu-west
  dig @127.0.0.1 -p 5300 www.example.com A +subnet=127.2.0.0/16      # Asia   -> ap-south
  dig @127.0.0.1 -p 5300 _explain.app.example.com TXT +subnet=203.0.113.0/24
MSG
"$root/build/release/server/meridian" serve --config "$root/meridian.json" &
pids+=($!)
wait "${pids[-1]}"
