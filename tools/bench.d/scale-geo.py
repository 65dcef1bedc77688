#!/usr/bin/env python3
"""Inputs of the GeoIP part of `tools/bench --scenario scale` (deterministic).

    scale-geo.py csv    --networks 3000000 --out FILE [--seed 1]
    scale-geo.py config --mmdb CITY.mmdb --out DIR [--zones 5]

`csv` writes a synthetic City map for `meridian geodata build` (geodata/README.md): about 85%
IPv4 networks of /20 to /28 walking up from 1.0.0.0 with holes, the rest IPv6 /32 to /48 in
2a00::/12; each gets one of 1,000 places (40 countries on 6 continents, 25 cities each, with
coordinates), so neighbours rarely merge.

`config` writes, for one City database (the listening port is `@PORT@`, for the caller to set):
  meridian/meridian.json, latency.json, zones/zN.test.json  3 services (geo, closest, latency)
                                                            over 6 regions; zones zN.test. with
                                                            www (geo), near (closest), fast (latency)
  gdnsd/etc/config, etc/zones/zN.test                       gdnsd's geoip plugin with 2 maps on the
                                                            same file: the same geo map, and
                                                            auto_dc_coords with the regions'
                                                            locations (closest); www and near DYNA
  probe.txt                                                 "ECS-PREFIX EXPECTED-A" for www.z0.test.:
                                                            a client the database puts in Europe
                                                            (answer eu-west's address), so a right
                                                            answer proves the database is loaded
"""
import argparse
import importlib.util
import json
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))
REGIONS = [  # name, location, last octet of the geo/near/fast endpoint (192.0.2.X1/X2/X3)
    ("eu-west", (53.35, -6.26), 1), ("eu-north", (59.33, 18.06), 2), ("us-east", (39.04, -77.49), 3),
    ("us-west", (37.77, -122.42), 4), ("ap-east", (35.68, 139.69), 5), ("ap-south", (19.08, 72.88), 6),
]
# The geo map of scenario geo (geo-gen.py): the same keys, regions and reader.
_spec = importlib.util.spec_from_file_location("geo_gen", os.path.join(HERE, "geo-gen.py"))
geo_gen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(geo_gen)
CONTINENTS, COUNTRIES, DEFAULT, map_key = geo_gen.CONTINENTS, geo_gen.COUNTRIES, geo_gen.DEFAULT, geo_gen.map_key
LATENCY = {"regions": [r[0] for r in REGIONS],
           "rows": {"EU": [18, 25, 85, 150, 240, 140], "NA": [80, 100, 12, 20, 150, 210],
                    "AS": [120, 130, 210, 150, 30, 25], "OC": [280, 290, 200, 150, 110, 150],
                    "country:SG": [160, 170, 230, 180, 70, 38], "default": [90, 95, 60, 80, 150, 150]}}
# 40 countries: continent, code, rough centre
PLACES = [("EU", c, la, lo) for c, la, lo in [("DE", 51, 10), ("SE", 62, 15), ("FR", 46, 2), ("GB", 54, -2),
          ("IE", 53, -8), ("ES", 40, -4), ("IT", 43, 12), ("PL", 52, 19), ("NL", 52, 5), ("FI", 64, 26)]] + \
         [("NA", c, la, lo) for c, la, lo in [("US", 38, -97), ("CA", 56, -106), ("MX", 23, -102),
          ("CU", 21, -77), ("GT", 15, -90)]] + \
         [("AS", c, la, lo) for c, la, lo in [("JP", 36, 138), ("KR", 36, 128), ("CN", 35, 103), ("IN", 21, 78),
          ("SG", 1, 104), ("ID", -1, 113), ("VN", 14, 108), ("TH", 15, 101), ("TR", 39, 35), ("IL", 31, 35)]] + \
         [("OC", c, la, lo) for c, la, lo in [("AU", -25, 133), ("NZ", -41, 174), ("FJ", -18, 178)]] + \
         [("AF", c, la, lo) for c, la, lo in [("ZA", -30, 25), ("NG", 9, 8), ("EG", 27, 30), ("KE", 0, 38),
          ("MA", 32, -6)]] + \
         [("SA", c, la, lo) for c, la, lo in [("BR", -14, -51), ("AR", -38, -63), ("CL", -35, -71),
          ("CO", 4, -72), ("PE", -9, -75), ("VE", 7, -66), ("UY", -33, -56)]]


def write_csv(args):
    rng = random.Random(args.seed)
    places = []
    for cont, cc, la, lo in PLACES:
        for i in range(25):
            lon = (lo + rng.uniform(-4, 4) + 180) % 360 - 180
            places.append("%s,%s,,City %s %d,%.2f,%.2f" % (cont, cc, cc, i, la + rng.uniform(-4, 4), lon))
    v4_lengths = [20] * 5 + [21] * 5 + [22] * 10 + [23] * 10 + [24] * 35 + [25] * 10 + [26] * 10 + [27] * 8 + [28] * 7
    v6_lengths = [32] * 10 + [36] * 10 + [40] * 20 + [44] * 20 + [48] * 40
    n4 = args.networks * 85 // 100
    n6 = args.networks - n4
    rows = 0
    with open(args.out, "w") as out:
        out.write("network,continent,country,subdivision,city,latitude,longitude\n")
        addr, end = 1 << 24, 224 << 24
        while rows < n4 and addr < end:
            length = rng.choice(v4_lengths)
            while addr % (1 << (32 - length)):
                length += 1
            if rng.random() >= 0.1:  # one block in ten is a hole
                out.write("%d.%d.%d.%d/%d,%s\n" % (addr >> 24, (addr >> 16) & 255, (addr >> 8) & 255, addr & 255,
                                                   length, rng.choice(places)))
                rows += 1
            addr += 1 << (32 - length)
        addr, end = 0x2a00 << 112, 0x2b00 << 112
        while rows < n4 + n6 and addr < end:
            length = rng.choice(v6_lengths)
            while addr % (1 << (128 - length)):
                length += 1
            if rng.random() >= 0.1:
                words = [(addr >> (112 - 16 * i)) & 0xFFFF for i in range(3)]
                out.write("%x:%x:%x::/%d,%s\n" % (words[0], words[1], words[2], length, rng.choice(places)))
                rows += 1
            addr += 1 << (128 - length)
    print("synthetic City CSV: %d networks" % rows)


def find_probe(mmdb_path):
    """An IPv4 /24 the database puts in Europe outside the country keys (answer: eu-west)."""
    db = geo_gen.Mmdb(mmdb_path)
    for first in [81, 2, 5, 31, 37, 46, 62, 77, 78, 79, 80, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95,
                  109, 176, 178, 185, 188, 193, 194, 195, 212, 213, 217]:
        for second in range(0, 256, 7):
            for third in (0, 100, 200):
                prefix = "%d.%d.%d.0" % (first, second, third)
                if map_key(db.lookup(prefix)) == "EU":
                    return prefix + "/24"
    for net, record in db.networks():  # a small database: look at all of it
        if net.version == 4 and net.prefixlen <= 24 and map_key(record) == "EU":
            return "%s/24" % net.network_address
    raise SystemExit("no European IPv4 client found in " + mmdb_path)


def write_config(args):
    mdir, gdir = os.path.join(args.out, "meridian"), os.path.join(args.out, "gdnsd", "etc")
    os.makedirs(os.path.join(mdir, "zones"), exist_ok=True)
    os.makedirs(os.path.join(gdir, "zones"), exist_ok=True)
    geo = {"country:" + cc: regs for (_, cc), regs in COUNTRIES.items()}
    geo.update(CONTINENTS)
    geo["default"] = DEFAULT

    def regions(kind):
        return {name: {"endpoints": ["192.0.2.%d%d" % (last, kind)], "location": list(loc)}
                for name, loc, last in REGIONS}
    services = {"geo": {"policy": "geo", "ttl": 300, "geo": geo, "regions": regions(1)},
                "near": {"policy": "closest", "ttl": 300, "regions": regions(2)},
                "fast": {"policy": "latency", "ttl": 300, "regions": regions(3)}}
    config = {"dns": {"listen": ["127.0.0.1:@PORT@"], "threads": 1}, "zones": "zones/",
              "geoip": {"city": os.path.abspath(args.mmdb)}, "latency": "latency.json", "services": services}
    with open(os.path.join(mdir, "meridian.json"), "w") as f:
        json.dump(config, f, indent=1)
    with open(os.path.join(mdir, "latency.json"), "w") as f:
        json.dump(LATENCY, f)
    for z in range(args.zones):
        origin = "z%d.test." % z
        zone = {"origin": origin, "ttl": 3600,
                "soa": {"mname": "ns1", "rname": "hostmaster", "serial": 1, "refresh": 7200, "retry": 900,
                        "expire": 1209600, "minimum": 300},
                "records": {"@": {"NS": ["ns1"]}, "ns1": {"A": "192.0.2.1"}, "www": {"service": "geo"},
                            "near": {"service": "near"}, "fast": {"service": "fast"}}}
        with open(os.path.join(mdir, "zones", origin + "json"), "w") as f:
            json.dump(zone, f, indent=1)
        with open(os.path.join(gdir, "zones", origin[:-1]), "w") as f:
            f.write("$TTL 3600\n@ SOA ns1 hostmaster 1 7200 900 1209600 300\n@ NS ns1\nns1 A 192.0.2.1\n"
                    "www 300 DYNA geoip!www\nnear 300 DYNA geoip!near\n")

    def dcmap(kind):
        return "\n".join("        %s => [ 192.0.2.%d%d ]" % (name, last, kind) for name, _, last in REGIONS)
    dcs = ", ".join(r[0] for r in REGIONS)
    nested = []
    for cont, regs in CONTINENTS.items():
        kids = [(cc, r) for (c, cc), r in COUNTRIES.items() if c == cont]
        if kids:
            nested.append("        %s => {\n          default => [ %s ]\n%s\n        }" % (
                cont, ", ".join(regs), "\n".join("          %s => [ %s ]" % (cc, ", ".join(r)) for cc, r in kids)))
        else:
            nested.append("        %s => [ %s ]" % (cont, ", ".join(regs)))
    coords = "\n".join("        %s => [ %s, %s ]" % (name, loc[0], loc[1]) for name, loc, _ in REGIONS)
    with open(os.path.join(gdir, "config"), "w") as f:
        f.write("""options => {
  listen => [ 127.0.0.1:@PORT@ ]
  udp_threads => 1
  tcp_threads => 1
  run_dir => "%(run)s"
  state_dir => "%(state)s"
}
plugins => { geoip => {
  maps => {
    geo => {
      geoip2_db => %(db)s
      datacenters => [ %(dcs)s ]
      map => {
        default => [ %(default)s ]
%(nested)s
      }
    }
    near => {
      geoip2_db => %(db)s
      datacenters => [ %(dcs)s ]
      auto_dc_coords => {
%(coords)s
      }
    }
  }
  resources => {
    www => { map => geo, service_types => up, dcmap => {
%(dcmap1)s
    } }
    near => { map => near, service_types => up, dcmap => {
%(dcmap2)s
    } }
  }
}}
""" % {"run": os.path.abspath(os.path.join(args.out, "gdnsd", "run")),
       "state": os.path.abspath(os.path.join(args.out, "gdnsd", "state")), "db": os.path.abspath(args.mmdb),
       "dcs": dcs, "default": ", ".join(DEFAULT), "nested": "\n".join(nested), "coords": coords,
       "dcmap1": dcmap(1), "dcmap2": dcmap(2)})
    with open(os.path.join(args.out, "probe.txt"), "w") as f:
        f.write("%s 192.0.2.11\n" % find_probe(args.mmdb))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("csv")
    c.add_argument("--networks", type=int, default=3000000)
    c.add_argument("--out", required=True)
    c.add_argument("--seed", type=int, default=1)
    g = sub.add_parser("config")
    g.add_argument("--mmdb", required=True)
    g.add_argument("--out", required=True)
    g.add_argument("--zones", type=int, default=5)
    args = p.parse_args()
    write_csv(args) if args.cmd == "csv" else write_config(args)


if __name__ == "__main__":
    main()
