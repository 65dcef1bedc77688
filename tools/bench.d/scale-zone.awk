# The large zone of `tools/bench --scenario scale` (deterministic), as a master file and as
# meridian's JSON zone with the same records.
# Usage: awk -v names=1000000 -v origin=big.test. -v master=F -v json=F -f scale-zone.awk /dev/null
#   hI   A 10.x.y.z (I in base 256) for every I in 1..names; AAAA 2001:db8::a:b for even I;
#        MX 10 mail.hI for every tenth. Apex: SOA (serial 1), NS ns1 and ns2, with their A.
# The scenario's one-record edit (h1 A -> 192.0.2.77, serial 2) matches the lines written
# here: keep `h1\tIN A 10.0.0.1`, `1 7200` in the SOA, `"h1": {"A": "10.0.0.1"` and
# `"serial": 1,` as they are (tools/bench.d/scale.sh).
function v4(i) { return "10." int(i / 65536) % 256 "." int(i / 256) % 256 "." i % 256 }
function v6(i) { return sprintf("2001:db8::%x:%x", int(i / 65536), i % 65536) }
BEGIN {
  o = origin; if (o !~ /\.$/) o = o "."
  print "$ORIGIN " o > master
  print "$TTL 3600" > master
  print "@\tIN SOA ns1 hostmaster 1 7200 900 1209600 300" > master
  print "@\tIN NS ns1" > master
  print "@\tIN NS ns2" > master
  print "ns1\tIN A 192.0.2.1" > master
  print "ns2\tIN A 192.0.2.2" > master

  printf "{\"origin\": \"%s\", \"ttl\": 3600,\n", o > json
  printf " \"soa\": {\"mname\": \"ns1\", \"rname\": \"hostmaster\", \"serial\": 1, \"refresh\": 7200, \"retry\": 900, \"expire\": 1209600, \"minimum\": 300},\n" > json
  printf " \"records\": {\n  \"@\": {\"NS\": [\"ns1\", \"ns2\"]},\n  \"ns1\": {\"A\": \"192.0.2.1\"},\n  \"ns2\": {\"A\": \"192.0.2.2\"}" > json

  for (i = 1; i <= names; i++) {
    a = v4(i)
    print "h" i "\tIN A " a > master
    body = "\"A\": \"" a "\""
    if (i % 2 == 0) { print "h" i "\tIN AAAA " v6(i) > master; body = body ", \"AAAA\": \"" v6(i) "\"" }
    if (i % 10 == 0) { print "h" i "\tIN MX 10 mail.h" i > master; body = body ", \"MX\": \"10 mail.h" i "\"" }
    printf ",\n  \"h%d\": {%s}", i, body > json
  }
  printf "\n }\n}\n" > json
  close(master); close(json)
  printf "zone %s: %d names (A all, AAAA %d, MX %d)\n", o, names, int(names / 2), int(names / 10)
}
