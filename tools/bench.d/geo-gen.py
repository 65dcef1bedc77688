#!/usr/bin/env python3
"""Inputs of `tools/bench --scenario geo`, generated from one geo map and one MaxMind City .mmdb.

    geo-gen.py gen   --mmdb CITY.mmdb --out DIR [--queries 20000] [--seed 1]
    geo-gen.py check --port PORT --expect DIR/expect.tsv [--server 127.0.0.1]

`gen` writes into DIR (deterministic for a given database and seed):
  meridian-services.json  the "services" object of meridian.json (services www and api, policy geo)
  geo.test.json           meridian's zone: www and api are {"service": ...}
  gdnsd-plugins.conf      the same map for gdnsd: plugins => { geoip => { maps, resources } }
  geo.test.zone           gdnsd's zone: www and api are DYNA geoip!www / geoip!api
  queries.bin             dnsperf -B input (RFC 1035 4.2.2 framing: 2-byte length, raw query):
                          A/AAAA for www/api, each with an EDNS Client Subnet option drawn from the
                          database's networks (v4 /24, some v6 /48 and /56) or from addresses the
                          database does not know (-> default); map keys get equal shares
  expect.tsv              one client per database network (plus unknown ones): name, type, ECS
                          prefix, map key, expected region, the region's addresses
  summary.txt             counts: queries, distinct prefixes, share per key and per family
`check` sends expect.tsv's queries to a server and compares the answers' addresses with the
expected region's, and that an ECS option with a scope comes back. Exit status 1 on a mismatch.

The .mmdb is read here with a small reader of the MaxMind DB format (search tree + data
section), so nothing beyond python3 is needed.
"""
import argparse
import collections
import ipaddress
import json
import os
import random
import socket
import struct
import sys

# ------------------------------------------------------------------ the geo map (one source)
# Datacenters in fallback order (gdnsd's `datacenters`); endpoints: two IPv4 and two IPv6 each.
REGIONS = collections.OrderedDict([
    ("eu-west",  (["192.0.2.11", "192.0.2.12"], ["2001:db8:11::1", "2001:db8:11::2"])),
    ("eu-north", (["192.0.2.21", "192.0.2.22"], ["2001:db8:21::1", "2001:db8:21::2"])),
    ("us-east",  (["192.0.2.31", "192.0.2.32"], ["2001:db8:31::1", "2001:db8:31::2"])),
    ("us-west",  (["192.0.2.41", "192.0.2.42"], ["2001:db8:41::1", "2001:db8:41::2"])),
    ("ap-east",  (["192.0.2.51", "192.0.2.52"], ["2001:db8:51::1", "2001:db8:51::2"])),
    ("ap-south", (["192.0.2.61", "192.0.2.62"], ["2001:db8:61::1", "2001:db8:61::2"])),
])
# Continent keys, and country keys inside them (meridian: "country:CC"; gdnsd: nested under the
# continent). Every key maps to an ordered region list; the first (all up) answers.
CONTINENTS = {
    "EU": ["eu-west", "eu-north", "us-east"],
    "NA": ["us-east", "us-west"],
    "AS": ["ap-south", "ap-east"],
    "OC": ["ap-east", "us-west"],
    "AF": ["eu-west", "us-east"],
}
COUNTRIES = {
    ("EU", "SE"): ["eu-north", "eu-west"],
    ("EU", "DE"): ["eu-north", "eu-west"],
    ("AS", "JP"): ["ap-east", "ap-south"],
    ("AS", "KR"): ["ap-east", "ap-south"],
}
DEFAULT = ["us-east", "eu-west"]
ORIGIN = "geo.test."
NAMES = {"www": 0.7, "api": 0.3}          # dynamic names (one service / resource each) and shares
TTL = 300
V6_SHARE = 0.3                            # share of queries from IPv6 clients
UNKNOWN_V4 = ["11.0.0.0/8", "45.0.0.0/8", "100.0.0.0/10", "185.0.0.0/8"]   # not in the test DBs
UNKNOWN_V6 = ["2400::/12", "2c00::/12"]


def map_key(record):
    """The map key that decides for a database record (None: no record)."""
    rec = record or {}
    cont = (rec.get("continent") or {}).get("code")
    cc = (rec.get("country") or {}).get("iso_code")
    if (cont, cc) in COUNTRIES:
        return "country:" + cc
    if cont in CONTINENTS:
        return cont
    return "default"


def key_regions(key):
    if key.startswith("country:"):
        cc = key.split(":", 1)[1]
        return next(v for (c, k), v in COUNTRIES.items() if k == cc)
    return CONTINENTS.get(key, DEFAULT)


# ------------------------------------------------------------------ a small MaxMind DB reader
class Mmdb:
    MARKER = b"\xab\xcd\xefMaxMind.com"

    def __init__(self, path):
        with open(path, "rb") as f:
            self.buf = f.read()
        meta_at = self.buf.rfind(self.MARKER)
        if meta_at < 0:
            raise ValueError(path + ": not a MaxMind DB file")
        meta_at += len(self.MARKER)
        self.meta, _ = self._decode(meta_at, meta_at)
        self.nodes = self.meta["node_count"]
        self.rsize = self.meta["record_size"]
        self.data_base = self.nodes * self.rsize * 2 // 8 + 16
        self.v4_root = 0
        if self.meta["ip_version"] == 6:
            for _ in range(96):
                if self.v4_root >= self.nodes:
                    break
                self.v4_root = self.child(self.v4_root, 0)

    def child(self, node, bit):
        n = self.rsize * 2 // 8
        b = self.buf[node * n:(node + 1) * n]
        if self.rsize == 24:
            return int.from_bytes(b[3:6] if bit else b[0:3], "big")
        if self.rsize == 28:
            if bit:
                return ((b[3] & 0x0F) << 24) | int.from_bytes(b[4:7], "big")
            return ((b[3] & 0xF0) << 20) | int.from_bytes(b[0:3], "big")
        return int.from_bytes(b[4:8] if bit else b[0:4], "big")

    def record(self, value):
        """Search-tree record -> data (None for 'no data')."""
        if value == self.nodes:
            return None
        return self._decode(self.data_base + value - self.nodes - 16, self.data_base)[0]

    def _decode(self, at, base):
        buf = self.buf
        ctrl = buf[at]
        at += 1
        kind = ctrl >> 5
        if kind == 1:                                   # pointer
            ss, vv = (ctrl >> 3) & 3, ctrl & 7
            if ss == 3:
                ptr = int.from_bytes(buf[at:at + 4], "big")
            else:
                ptr = (vv << (8 * (ss + 1))) | int.from_bytes(buf[at:at + ss + 1], "big")
                ptr += (0, 2048, 526336)[ss]
            return self._decode(base + ptr, base)[0], at + ss + 1
        if kind == 0:                                   # extended type
            kind = 7 + buf[at]
            at += 1
        size = ctrl & 0x1F
        if size >= 29:
            extra = size - 28
            size = (29, 285, 65821)[extra - 1] + int.from_bytes(buf[at:at + extra], "big")
            at += extra
        if kind == 2:
            return buf[at:at + size].decode("utf-8"), at + size
        if kind == 3:
            return struct.unpack(">d", buf[at:at + 8])[0], at + 8
        if kind == 15:
            return struct.unpack(">f", buf[at:at + 4])[0], at + 4
        if kind == 4:
            return bytes(buf[at:at + size]), at + size
        if kind in (5, 6, 9, 10):
            return int.from_bytes(buf[at:at + size], "big"), at + size
        if kind == 8:
            return int.from_bytes(buf[at:at + size], "big", signed=size == 4), at + size
        if kind == 14:
            return bool(size), at
        if kind == 7:
            out = {}
            for _ in range(size):
                k, at = self._decode(at, base)
                out[k], at = self._decode(at, base)
            return out, at
        if kind == 11:
            out = []
            for _ in range(size):
                v, at = self._decode(at, base)
                out.append(v)
            return out, at
        raise ValueError("mmdb: unsupported data type %d" % kind)

    def networks(self):
        """Every network that holds data: (ip_network, record), IPv4 first. IPv4 comes from the
        ::/96 subtree once; its aliases (::ffff:0:0/96, 2001::/32, 2002::/16) are skipped."""
        out = []

        def walk(node, depth, bits, width, version):
            for bit in (0, 1):
                nb = (bits << 1) | bit
                child = self.child(node, bit)
                if child < self.nodes:
                    if version == 6 and child == self.v4_root:
                        continue
                    walk(child, depth + 1, nb, width, version)
                elif child > self.nodes:
                    net = nb << (width - depth - 1)
                    cls = ipaddress.IPv4Network if version == 4 else ipaddress.IPv6Network
                    out.append((cls((net, depth + 1)), self.record(child)))

        walk(self.v4_root, 0, 0, 32, 4)
        if self.meta["ip_version"] == 6:
            walk(0, 0, 0, 128, 6)
        return out

    def lookup(self, address):
        """Record for an address (the zero-filled ECS prefix), None when absent."""
        ip = ipaddress.ip_address(address)
        node = self.v4_root if ip.version == 4 else 0
        width = 32 if ip.version == 4 else 128
        value = int(ip)
        for i in range(width):
            node = self.child(node, (value >> (width - 1 - i)) & 1)
            if node >= self.nodes:
                return self.record(node)
        return None


# ------------------------------------------------------------------ DNS wire
def qname_wire(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def query(name, qtype, prefix, qid=0, do_bit=False):
    """A query with EDNS0 (payload 1232) and an ECS option for `prefix` (an ip_network);
    do_bit: DNSSEC OK set (answers of a signed zone then carry RRSIGs)."""
    family = 1 if prefix.version == 4 else 2
    nbytes = (prefix.prefixlen + 7) // 8
    ecs = struct.pack(">HBB", family, prefix.prefixlen, 0) + prefix.network_address.packed[:nbytes]
    opt = b"\0" + struct.pack(">HHIH", 41, 1232, 0x8000 if do_bit else 0, 4 + len(ecs)) + struct.pack(">HH", 8, len(ecs)) + ecs
    header = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 1)       # no RD: we ask an authority
    return header + qname_wire(name) + struct.pack(">HH", qtype, 1) + opt


def parse_answer(pkt):
    """-> (rcode, sorted addresses of A/AAAA answers, ECS scope or None)."""
    def skip_name(at):
        while True:
            n = pkt[at]
            if n == 0:
                return at + 1
            if n & 0xC0 == 0xC0:
                return at + 2
            at += n + 1

    _, flags, qd, an, ns, ar = struct.unpack(">HHHHHH", pkt[:12])
    rcode = flags & 0xF
    at = 12
    for _ in range(qd):
        at = skip_name(at) + 4
    addrs, scope = [], None
    for i in range(an + ns + ar):
        at = skip_name(at)
        rtype, _, _, rdlen = struct.unpack(">HHIH", pkt[at:at + 10])
        at += 10
        rdata = pkt[at:at + rdlen]
        if i < an and rtype == 1:
            addrs.append(str(ipaddress.IPv4Address(rdata)))
        elif i < an and rtype == 28:
            addrs.append(str(ipaddress.IPv6Address(rdata)))
        elif rtype == 41:
            o = 0
            while o + 4 <= len(rdata):
                code, olen = struct.unpack(">HH", rdata[o:o + 4])
                if code == 8 and olen >= 4:
                    scope = rdata[o + 7]
                o += 4 + olen
        at += rdlen
    return rcode, sorted(addrs), scope


# ------------------------------------------------------------------ gen
def client_prefixes(net, rng, count):
    """Up to `count` ECS prefixes for clients of `net`: IPv4 /24s (the one that holds a longer
    network), IPv6 /48s and /56s (meridian's default caps are /24 and /56)."""
    if net.version == 4:
        if net.prefixlen >= 24:
            return [net.supernet(new_prefix=24)]
        subs = 1 << (24 - net.prefixlen)
        picks = rng.sample(range(subs), min(count, subs))
        return [ipaddress.IPv4Network((int(net.network_address) + (i << 8), 24)) for i in picks]
    out = []
    for _ in range(count):
        plen = rng.choice((48, 56))
        if net.prefixlen >= plen:
            out.append(net.supernet(new_prefix=plen))
            continue
        i = rng.randrange(1 << (plen - net.prefixlen))
        out.append(ipaddress.IPv6Network((int(net.network_address) + (i << (128 - plen)), plen)))
    return sorted(set(out))


def gen(args):
    db = Mmdb(args.mmdb)
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    W = lambda name: open(os.path.join(args.out, name), "w")

    # --- clients, bucketed by the key that really decides them (lookup of the zero-filled prefix)
    pool = collections.defaultdict(lambda: {4: set(), 6: set()})
    samples = []                                    # one client per database network, for checks
    nets = db.networks()
    for net, _ in nets:
        for p in client_prefixes(net, rng, 64):
            pool[map_key(db.lookup(p.network_address))][p.version].add(p)
    for spec in UNKNOWN_V4 + UNKNOWN_V6:
        space = ipaddress.ip_network(spec)
        plen = 24 if space.version == 4 else 48
        for _ in range(512):
            i = rng.randrange(1 << (plen - space.prefixlen))
            p = ipaddress.ip_network((int(space.network_address) + (i << (space.max_prefixlen - plen)), plen))
            if db.lookup(p.network_address) is None:
                pool["default"][p.version].add(p)
    keys = sorted(pool)
    for k in keys:
        for fam in (4, 6):
            pool[k][fam] = sorted(pool[k][fam])

    # --- queries: family (30% IPv6), then a key uniformly among the keys that have clients of
    # that family, a client of it uniformly, a name by its share, A (70%) or AAAA
    names, weights = list(NAMES), list(NAMES.values())
    keys_of = {fam: [k for k in keys if pool[k][fam]] for fam in (4, 6)}
    count_key, count_fam, distinct = collections.Counter(), collections.Counter(), set()
    with open(os.path.join(args.out, "queries.bin"), "wb") as f:
        for _ in range(args.queries):
            fam = 6 if rng.random() < V6_SHARE else 4
            k = rng.choice(keys_of[fam])
            p = rng.choice(pool[k][fam])
            name = rng.choices(names, weights)[0] + "." + ORIGIN
            qtype = 1 if rng.random() < 0.7 else 28
            pkt = query(name, qtype, p, do_bit=args.do_bit)
            f.write(struct.pack(">H", len(pkt)) + pkt)
            count_key[k] += 1
            count_fam[fam] += 1
            distinct.add(p)

    # --- checks: a client inside every database network, plus unknown ones (default)
    with W("expect.tsv") as f:
        f.write("name\ttype\tecs\tkey\tregion\taddresses\n")
        seen = set()
        checks = [client_prefixes(n, rng, 1)[0] for n, _ in nets]
        checks += pool["default"][4][:4] + pool["default"][6][:2]
        for p in checks:
            if p in seen:
                continue
            seen.add(p)
            k = map_key(db.lookup(p.network_address))
            region = key_regions(k)[0]
            for qt, addrs in (("A", REGIONS[region][0]), ("AAAA", REGIONS[region][1])):
                f.write("www.%s\t%s\t%s\t%s\t%s\t%s\n" % (ORIGIN, qt, p, k, region, ",".join(sorted(addrs))))

    # --- meridian: services and zone
    services = {}
    geo = {("country:" + cc): regs for (_, cc), regs in COUNTRIES.items()}
    geo.update(CONTINENTS)
    geo["default"] = DEFAULT
    for n in NAMES:
        services[n] = {
            "policy": "geo", "ttl": TTL, "answers": "all", "geo": geo,
            "regions": {r: {"endpoints": v4 + v6} for r, (v4, v6) in REGIONS.items()},
        }
    with W("meridian-services.json") as f:
        json.dump(services, f, indent=1)
        f.write("\n")
    soa = {"mname": "ns1", "rname": "hostmaster", "serial": 1, "refresh": 7200, "retry": 900,
           "expire": 1209600, "minimum": 300}
    records = {"@": {"NS": "ns1"}, "ns1": {"A": "192.0.2.1"}}
    records.update({n: {"service": n} for n in NAMES})
    with W("geo.test.json") as f:
        json.dump({"origin": ORIGIN, "ttl": 3600, "soa": soa, "records": records}, f, indent=1)
        f.write("\n")

    # --- gdnsd: plugin config and zone
    def dclist(regs):
        return "[ " + ", ".join(regs) + " ]"
    lines = ["plugins => { geoip => {", "  maps => {", "    bench => {",
             "      geoip2_db => %s" % os.path.abspath(args.mmdb),
             "      datacenters => %s" % dclist(REGIONS),
             "      map => {",
             "        default => %s" % dclist(DEFAULT)]
    for cont, regs in CONTINENTS.items():
        subs = [(cc, r) for (c, cc), r in COUNTRIES.items() if c == cont]
        if not subs:
            lines.append("        %s => %s" % (cont, dclist(regs)))
            continue
        lines.append("        %s => {" % cont)
        lines.append("          default => %s" % dclist(regs))
        lines += ["          %s => %s" % (cc, dclist(r)) for cc, r in subs]
        lines.append("        }")
    lines += ["      }", "    }", "  }", "  resources => {"]
    for n in NAMES:
        lines += ["    %s => {" % n, "      map => bench", "      service_types => up", "      dcmap => {"]
        lines += ["        %s => { addrs_v4 => %s, addrs_v6 => %s }" % (r, dclist(v4), dclist(v6))
                  for r, (v4, v6) in REGIONS.items()]
        lines += ["      }", "    }"]
    lines += ["  }", "}}"]
    with W("gdnsd-plugins.conf") as f:
        f.write("\n".join(lines) + "\n")
    with W("geo.test.zone") as f:
        f.write("$ORIGIN %s\n$TTL 3600\n" % ORIGIN)
        f.write("@\tIN SOA ns1.%s hostmaster.%s 1 7200 900 1209600 300\n" % (ORIGIN, ORIGIN))
        f.write("@\tIN NS ns1.%s\nns1\tIN A 192.0.2.1\n" % ORIGIN)
        for n in NAMES:
            f.write("%s\t%d\tDYNA\tgeoip!%s\n" % (n, TTL, n))

    # --- summary
    total = sum(count_key.values())
    with W("summary.txt") as f:
        f.write("geo queries: %d (A 70%%, AAAA 30%%; %s), %d distinct ECS prefixes "
                "(IPv4 %.0f%%, IPv6 %.0f%%), from %d database networks of %s\n" % (
                    total, ", ".join("%s %.0f%%" % (n, 100 * w) for n, w in NAMES.items()), len(distinct),
                    100 * count_fam[4] / total, 100 * count_fam[6] / total, len(nets), os.path.basename(args.mmdb)))
        f.write("queries per map key: %s\n" % ", ".join(
            "%s %.0f%% (%d+%d prefixes)" % (k, 100 * count_key[k] / total, len(pool[k][4]), len(pool[k][6]))
            for k in keys))
    sys.stdout.write(open(os.path.join(args.out, "summary.txt")).read())


# ------------------------------------------------------------------ check
def check(args):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(2)
    bad = total = noscope = 0
    with open(args.expect) as f:
        next(f)
        for qid, line in enumerate(f, 1):
            name, qt, ecs, key, region, addrs = line.rstrip("\n").split("\t")
            pkt = query(name, {"A": 1, "AAAA": 28}[qt], ipaddress.ip_network(ecs), qid & 0xFFFF)
            got = None
            for _ in range(3):
                sock.sendto(pkt, (args.server, args.port))
                try:
                    got = parse_answer(sock.recvfrom(4096)[0])
                    break
                except socket.timeout:
                    pass
            total += 1
            rcode, answer, scope = got if got else (-1, [], None)
            ok = rcode == 0 and answer == addrs.split(",")
            if scope is None:
                noscope += 1
            if not ok or args.verbose:
                print("%s %s %s ECS %s key %s: expected %s (%s), got rcode %s %s scope %s" % (
                    "ok " if ok else "BAD", name, qt, ecs, key, region, addrs, rcode, ",".join(answer) or "-", scope))
            bad += not ok
    print("check: %d queries, %d with the expected region's addresses, %d without an ECS option in the reply"
          % (total, total - bad, noscope))
    return 1 if bad or noscope else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("gen")
    g.add_argument("--mmdb", required=True)
    g.add_argument("--out", required=True)
    g.add_argument("--queries", type=int, default=20000)
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("--do", dest="do_bit", action="store_true", help="set the DO bit on every query")
    c = sub.add_parser("check")
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--server", default="127.0.0.1")
    c.add_argument("--expect", required=True)
    c.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    sys.exit(gen(args) if args.cmd == "gen" else check(args))


if __name__ == "__main__":
    main()
