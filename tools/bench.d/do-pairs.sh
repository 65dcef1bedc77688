#!/bin/bash
# tools/bench.d/do-pairs.sh — what DNSSEC costs a query: the bench zone signed, queried with
# the DO bit (every answer with its RRSIGs, every negative answer with signed NSECs),
# against the same zone unsigned, queried with EDNS, in interleaved pairs. The issue's target:
# signed answers at most 10% above unsigned ones in CPU per query.
#
# usage: tools/bench.d/do-pairs.sh OUT [ROUNDS] [SECONDS] [DENIAL]
#   OUT      a finished `tools/bench --only meridian --out OUT` run (static): its work/ folder
#            holds the config, zone and queries reused here
#   ROUNDS   pairs (default 10); SECONDS per run (default 5)
#   DENIAL   compact | nsec (default compact): the signed zone's "denial". The mix's NXDOMAIN
#            names are random (about 4,000 distinct ones, each asked about once a second at
#            20,000 qps): with compact denial each is an RFC 9824 NSEC signed on the DNS
#            thread within dns.online_signatures_per_second (1000 per second by default, or
#            ONLINE=N), the rest answered from the precomputed chain; nsec answers them all
#            from the chain (no signing while answering).
# env: MERIDIAN (binary, default build/release/server/meridian), ONLINE (signing budget).
# Both instances run at once, pinned to CPU 0; dnsperf (-c 1 -T 1 -Q 20000) on CPU 1 alternates
# between them. In the output "meridian" is the signed zone queried with DO (dnsperf -D),
# "unsigned" the unsigned zone queried with EDNS (dnsperf -e): the ratio is signed/unsigned.
set -euo pipefail
out=${1:?usage: do-pairs.sh OUT [ROUNDS] [SECONDS] [DENIAL]}
rounds=${2:-10}
secs=${3:-5}
denial=${4:-compact}
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tools/bench.d/pairs-lib.sh"
meridian=$(readlink -f "${MERIDIAN:-$root/build/release/server/meridian}")
work=$out/work
[ -f "$work/meridian/meridian.json" ] && [ -f "$work/meridian/zones/bench.test.json" ] ||
  { echo "no meridian config and bench zone in $work" >&2; exit 1; }
case $denial in compact | nsec) ;; *) echo "unknown denial $denial (compact | nsec)" >&2; exit 1 ;; esac
for tool in dnsperf dig python3 taskset; do command -v "$tool" >/dev/null || { echo "do-pairs: needs $tool" >&2; exit 1; }; done

uport=$(free_port) sport=$(free_port)
udir=$out/do-unsigned sdir=$out/do-signed
rm -rf "$udir" "$sdir"
cp -r "$work/meridian" "$udir"
cp -r "$work/meridian" "$sdir"
# The signed copy's key: a CSK (ECDSAP256SHA256), its .private readable by its owner only.
mkdir -p "$sdir/zones/keys"
"$meridian" dnssec keygen bench.test. -d "$sdir/zones/keys" >/dev/null
chmod 600 "$sdir"/zones/keys/*.private
# configure DIR PORT [DENIAL]: DIR's meridian.json listens on PORT, without admin; with a
# DENIAL the bench zone is signed with the keys in DIR/zones/keys.
configure() {
  python3 - "$1" "$2" "${3:-}" "${ONLINE:-}" <<'PY'
import json, sys
folder, port, denial, online = sys.argv[1:5]
path = folder + "/meridian.json"
c = json.load(open(path))
c["dns"]["listen"] = ["127.0.0.1:" + port]
c.pop("admin", None)
if online:
    c["dns"]["online_signatures_per_second"] = int(online)
json.dump(c, open(path, "w"))
if denial:
    zone_path = folder + "/zones/bench.test.json"
    z = json.load(open(zone_path))
    z["dnssec"] = {"keys": "keys/", "denial": denial}
    json.dump(z, open(zone_path, "w"))
PY
}
configure "$udir" "$uport"
configure "$sdir" "$sport" "$denial"

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
(cd "$udir" && exec taskset -c 0 "$meridian" serve --config meridian.json >"$out/do-unsigned.log" 2>&1) &
upid=$!
pids+=("$upid")
(cd "$sdir" && exec taskset -c 0 "$meridian" serve --config meridian.json >"$out/do-signed.log" 2>&1) &
spid=$!
pids+=("$spid")

# The signed instance signs the zone before it answers (three signatures per name).
for _ in $(seq 120); do dns_ready "$uport" && dns_ready "$sport" && break; sleep 0.5; done
dns_ready "$uport" && dns_ready "$sport" || { echo "servers did not answer" >&2; exit 1; }
pin_to_cpu0 "$upid" "$spid"

# Each instance answers as intended: RRSIGs (and NSECs for a name that does not exist) from
# the signed one to a DO query, none from the unsigned one, none from either without DO.
ask() { dig +norec +time=2 +tries=2 -p "$1" @127.0.0.1 "${@:2}"; }
host=$(awk '$2 == "A" && $1 ~ /^host/ {print $1; exit}' "$work/queries.txt")
ask "$sport" +dnssec "$host" A | grep -q $'\tRRSIG\tA ' || { echo "the signed instance gave no RRSIG for $host A" >&2; exit 1; }
ask "$sport" +dnssec nx-do-pairs-check.bench.test A | grep -q $'\tNSEC\t' ||
  { echo "the signed instance gave no NSEC for a name that does not exist" >&2; exit 1; }
ask "$sport" "$host" A | grep -q RRSIG && { echo "the signed instance sent RRSIGs without DO" >&2; exit 1; }
ask "$uport" +dnssec "$host" A | grep -q RRSIG && { echo "the unsigned instance sent RRSIGs" >&2; exit 1; }
ask "$uport" +dnssec "$host" A | grep -q $'\tA\t' || { echo "the unsigned instance gave no A for $host" >&2; exit 1; }

# dns_run reads qargs: the signed instance is queried with DO, the unsigned one with EDNS.
run() {
  if [ "$1" = "$spid" ]; then qargs=(-d "$work/queries.txt" -D); else qargs=(-d "$work/queries.txt" -e); fi
  dns_run "$@"
}

echo "load before: $(uptime)"
echo "pairs: $rounds x ${secs}s at 20000 qps; CPU us/query (meridian = the zone signed, denial $denial${ONLINE:+, budget $ONLINE/s}, queries with DO; unsigned = the zone unsigned, queries with EDNS)"
interleave "$rounds" unsigned "$spid" "$sport" "$upid" "$uport" 2
echo "load after: $(uptime)"
exit 0
