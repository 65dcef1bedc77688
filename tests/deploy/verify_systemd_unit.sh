#!/usr/bin/env bash
# deploy/meridian.service: `systemd-analyze verify` accepts it (with the binary
# it names replaced by the one just built, since verify wants it executable), and
# it keeps the properties the README promises: Type=notify, a watchdog, and
# `systemctl reload` running `meridian reload` so that a rejected reload fails,
# and a sandbox with an exposure of 2.5 or lower (`systemd-analyze security`).
# Usage: verify_systemd_unit.sh REPO_ROOT MERIDIAN_BINARY. Exit 77: skipped.
set -euo pipefail
root=${1:?usage: verify_systemd_unit.sh REPO_ROOT MERIDIAN_BINARY}
binary=${2:?usage: verify_systemd_unit.sh REPO_ROOT MERIDIAN_BINARY}
unit="$root/deploy/meridian.service"

status=0
expect() {
  grep -Eq "$1" "$unit" || { echo "meridian.service: no line matching $1" >&2; status=1; }
}
expect '^Type=notify$'
expect '^NotifyAccess=main$'
expect '^ExecStart=/usr/local/bin/meridian serve --config /etc/meridian/meridian.json$'
expect '^ExecReload=/usr/local/bin/meridian reload --config /etc/meridian/meridian.json$'
expect '^WatchdogSec=[0-9]+s?$'
[ $status -eq 0 ] || exit $status

command -v systemd-analyze >/dev/null || { echo "systemd-analyze not installed: verify skipped" >&2; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed "s|/usr/local/bin/meridian|$binary|g" "$unit" >"$work/meridian.service"
# verify prints its findings and exits non-zero on any of them.
out=$(systemd-analyze verify "$work/meridian.service" 2>&1) || { echo "$out" >&2; exit 1; }
if [ -n "$out" ]; then
  echo "$out" >&2
  exit 1
fi
echo "meridian.service: systemd-analyze verify OK"

# Sandboxing: overall exposure 2.5 or lower (--threshold counts tenths).
expect_sandbox() {
  grep -Eq "$1" "$unit" || { echo "meridian.service: no line matching $1" >&2; exit 1; }
}
expect_sandbox '^CapabilityBoundingSet=CAP_NET_BIND_SERVICE$'
expect_sandbox '^SystemCallFilter=@system-service$'
security=$(systemd-analyze security --offline=yes --threshold=25 "$work/meridian.service" 2>&1) || {
  echo "$security" >&2
  echo "meridian.service: exposure above 2.5" >&2
  exit 1
}
echo "meridian.service: $(echo "$security" | grep -o 'Overall exposure level.*')"
