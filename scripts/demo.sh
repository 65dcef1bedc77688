#!/usr/bin/env bash
# The demo: installs missing Debian packages, builds meridian and serves the
# bundled example zone, demo geodata and health files on 127.0.0.1:5300 / [::1]:5300.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/deps.sh"
"$root/scripts/build.sh" "$root/build/release" -DCMAKE_BUILD_TYPE=Release -DMERIDIAN_TESTS=OFF
echo "meridian demo: try  dig @127.0.0.1 -p 5300 www.example.com A" >&2
exec "$root/build/release/server/meridian" serve --config "$root/meridian.json"
