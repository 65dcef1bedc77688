#!/usr/bin/env bash
# Installs the Debian packages meridian needs to build, test and demo,
# only those missing; uses sudo when not root. Usage: scripts/deps.sh [extra packages]
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libldns-dev libssl-dev libknot-dev libmaxminddb-dev libboost-dev libboost-system-dev libre2-dev libnghttp2-dev libmimalloc-dev
  nlohmann-json3-dev libcli11-dev doctest-dev
  dnsutils bind9-dnsutils unbound knot-dnsutils knot nsd mmdb-bin curl
  python3 python3-jsonschema python3-yaml yamllint strace systemd help2man dpkg-dev openssl
  chromium python3-websocket etcd-server etcd-client
  nghttp2-client nghttp2-server python3-grpcio
  "$@"
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo_cmd=(sudo)
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
