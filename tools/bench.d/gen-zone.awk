# Generates the benchmark zone and query file (deterministic).
# Usage: awk -v names=1000 -v origin=bench.test. -v master=F -v json=F -v queries=F -v nq=20000 -f gen-zone.awk /dev/null
# Writes:
#   master  - RFC 1035 master file (for NSD, Knot, gdnsd)
#   json    - meridian's JSON zone file (same data)
#   queries - dnsperf query file: 40% A, 20% AAAA (a quarter NODATA), 10% A via CNAME,
#             10% MX, 20% NXDOMAIN
function jq(s) { return "\"" s "\"" }
function v4(i) { return "198.18." int(i / 256) "." (i % 256) }   # RFC 2544 benchmarking range
function v6(i) { return sprintf("2001:db8::%x", i) }
function jrec(name, body) {                                      # one "name": {...} member
  printf "%s    %s: {%s}", (njrec++ ? ",\n" : ""), jq(name), body > json
}
BEGIN {
  if (names < 20) names = 20
  if (nq < 100) nq = 100
  o = origin; if (o !~ /\.$/) o = o "."
  ttl = 3600
  nh = int(names * 0.7)          # hostN: A (+ AAAA unless N%4==0)
  nm = int(names * 0.1)          # mxN:   MX + A
  nc = names - nh - nm - 4       # wwwN:  CNAME -> hostM     (+ apex, ns1, ns2, mail)

  # ---- RFC 1035 master file ----
  print "$ORIGIN " o > master
  print "$TTL " ttl > master
  print "@\tIN SOA ns1." o " hostmaster." o " 1 7200 900 1209600 300" > master
  print "@\tIN NS ns1." o > master
  print "@\tIN NS ns2." o > master
  print "@\tIN MX 10 mail." o > master
  print "ns1\tIN A 192.0.2.1" > master
  print "ns2\tIN A 192.0.2.2" > master
  print "mail\t600 IN A 192.0.2.25" > master
  print "mail\t600 IN A 192.0.2.26" > master
  for (i = 1; i <= nh; i++) {
    print "host" i "\tIN A " v4(i) > master
    if (i % 4) print "host" i "\tIN AAAA " v6(i) > master
  }
  for (i = 1; i <= nm; i++) {
    t = (i * 7) % nh + 1
    print "mx" i "\tIN MX 10 host" t "." o > master
    print "mx" i "\tIN MX 20 mail." o > master
    print "mx" i "\tIN A " v4(nh + i) > master
  }
  for (i = 1; i <= nc; i++) print "www" i "\tIN CNAME host" ((i * 13) % nh + 1) "." o > master
  close(master)

  # ---- meridian JSON zone ----
  printf "{\"origin\": %s, \"ttl\": %d,\n", jq(o), ttl > json
  printf " \"soa\": {\"mname\": \"ns1\", \"rname\": \"hostmaster\", \"serial\": 1, \"refresh\": 7200, \"retry\": 900, \"expire\": 1209600, \"minimum\": 300},\n" > json
  printf " \"records\": {\n" > json
  jrec("@", "\"NS\": [\"ns1\", \"ns2\"], \"MX\": \"10 mail\"")
  jrec("ns1", "\"A\": \"192.0.2.1\"")
  jrec("ns2", "\"A\": \"192.0.2.2\"")
  jrec("mail", "\"A\": {\"ttl\": 600, \"data\": [\"192.0.2.25\", \"192.0.2.26\"]}")
  for (i = 1; i <= nh; i++)
    jrec("host" i, "\"A\": " jq(v4(i)) ((i % 4) ? ", \"AAAA\": " jq(v6(i)) : ""))
  for (i = 1; i <= nm; i++)
    jrec("mx" i, "\"MX\": [" jq("10 host" ((i * 7) % nh + 1)) ", \"20 mail\"], \"A\": " jq(v4(nh + i)))
  for (i = 1; i <= nc; i++) jrec("www" i, "\"CNAME\": " jq("host" ((i * 13) % nh + 1)))
  printf "\n  }\n}\n" > json
  close(json)

  # ---- dnsperf query file ----
  srand(42)
  for (q = 0; q < nq; q++) {
    r = rand()
    if (r < 0.40)      print "host" (int(rand() * nh) + 1) "." o " A" > queries
    else if (r < 0.60) print "host" (int(rand() * nh) + 1) "." o " AAAA" > queries
    else if (r < 0.70) print "www" (int(rand() * nc) + 1) "." o " A" > queries
    else if (r < 0.80) print ((rand() < 0.9) ? "mx" (int(rand() * nm) + 1) "." o : o) " MX" > queries
    else               print "nx" int(rand() * 1000000) "." o " A" > queries
  }
  close(queries)
  printf "zone: %d names (%d host, %d mx, %d cname, 4 fixed); %d queries\n", names, nh, nm, nc, nq
}
