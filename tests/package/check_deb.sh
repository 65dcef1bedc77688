#!/usr/bin/env bash
# `cpack -G DEB` builds a .deb whose contents are what the README says, and the
# example configuration it installs passes `meridian check` with the packaged binary.
# Extracted with dpkg-deb -x into a temporary folder: nothing is installed on the machine.
# Usage: check_deb.sh BUILD_DIR
set -euo pipefail
build=$(cd "${1:?usage: check_deb.sh BUILD_DIR}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

status=0
fail() { echo "FAIL: $*" >&2; status=1; }

cpack --config "$build/CPackConfig.cmake" -G DEB -B "$work/out" >"$work/cpack.log" 2>&1 || {
  cat "$work/cpack.log" >&2
  exit 1
}
shopt -s nullglob
debs=("$work"/out/*.deb)
[ ${#debs[@]} -eq 1 ] || { echo "expected one .deb, got: ${debs[*]}" >&2; exit 1; }
deb=${debs[0]}
echo "built $(basename "$deb")"

[ "$(dpkg-deb -f "$deb" Package)" = meridian ] || fail "package name"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libldns3 libmaxminddb0 libzscanner4; do
  [[ $depends == *"$lib"* ]] || fail "Depends lacks $lib: $depends"
done

contents=$(dpkg-deb -c "$deb" | awk '{print $6}')
for path in ./usr/bin/meridian ./usr/lib/systemd/system/meridian.service ./usr/share/man/man1/meridian.1 \
            ./usr/share/meridian/schema/meridian.schema.json ./usr/share/meridian/schema/zone.schema.json \
            ./usr/share/meridian/schema/health.schema.json ./usr/share/meridian/schema/latency.schema.json \
            ./usr/share/meridian/examples/meridian.json ./usr/share/meridian/examples/zones/example.com.json \
            ./usr/share/meridian/examples/health/demo.json ./usr/share/meridian/examples/geodata/demo-city.mmdb \
            ./usr/share/meridian/examples/geodata/latency.json ./usr/share/doc/meridian/README.md; do
  grep -qx -- "$path" <<<"$contents" || fail "the package lacks $path"
done
grep -q '^\./usr/local' <<<"$contents" && fail "files under /usr/local"

root="$work/root"
dpkg-deb -x "$deb" "$root"
binary="$root/usr/bin/meridian"
"$binary" --version | grep -q '^meridian ' || fail "meridian --version"
examples="$root/usr/share/meridian/examples"
if ! out=$("$binary" check --config "$examples/meridian.json" 2>&1); then
  fail "meridian check on the installed example: $out"
fi

unit="$root/usr/lib/systemd/system/meridian.service"
grep -q '^ExecStart=/usr/bin/meridian serve ' "$unit" || fail "the installed unit does not run /usr/bin/meridian"
grep -q '/usr/local/bin' "$unit" && fail "the installed unit names /usr/local/bin"
sed "s|/usr/bin/meridian|$binary|g" "$unit" >"$work/meridian.service"
verify=$(systemd-analyze verify "$work/meridian.service" 2>&1) || fail "systemd-analyze verify: $verify"

man_page="$root/usr/share/man/man1/meridian.1"
head -c 4096 "$man_page" | grep -q '^\.TH MERIDIAN' || fail "meridian.1 has no .TH header"
for command in serve check reload status explain; do
  grep -q "meridian $command" "$man_page" || fail "meridian.1 does not describe meridian $command"
done
grep -q "$build" "$man_page" && fail "meridian.1 names the build folder"

[ $status -eq 0 ] && echo "package OK: $(dpkg-deb -c "$deb" | wc -l) entries"
exit $status
