#!/usr/bin/env bash
# Rebuilds geodata/demo-city.mmdb from geodata/demo-city.csv with the built
# meridian binary. Usage: tools/build-demo-geodata.sh [path/to/meridian]
# (default: $MERIDIAN, else the newest build*/**/server/meridian in the repo).
# SOURCE_DATE_EPOCH is ignored here so the default epoch applies and the file
# stays byte-for-byte reproducible; a unit test checks the committed copy.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
meridian=${1:-${MERIDIAN:-}}
if [ -z "$meridian" ]; then
  meridian=$(find "$root" -maxdepth 4 -path '*build*/server/meridian' -type f -perm -u+x \
               -printf '%T@ %p\n' 2>/dev/null | sort -rn | head -n1 | cut -d' ' -f2-)
fi
if [ -z "$meridian" ] || [ ! -x "$meridian" ]; then
  echo "build-demo-geodata: no meridian binary; build one (scripts/build.sh build/release) or pass its path" >&2
  exit 1
fi
cd "$root/geodata"
env -u SOURCE_DATE_EPOCH "$meridian" geodata build demo-city.csv -o demo-city.mmdb
echo "wrote $root/geodata/demo-city.mmdb"
