// Test helpers: zones from JSON text, and a responder harness that answers a
// query packet with query::answer_query and decodes the result.
#pragma once
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "config/diagnostics.hpp"
#include "query/responder.hpp"
#include "unit/support/dns_wire.hpp"
#include "zone/json_zone.hpp"
#include "zone/zone.hpp"

namespace meridian::test {

struct ZoneLoad {
  std::unique_ptr<zone::Zone> zone;
  config::Diagnostics diagnostics;

  // The first diagnostic as "line:column: message" (file name left out).
  std::string first() const {
    if (diagnostics.empty()) return "(no diagnostics)";
    const auto& d = diagnostics.items().front();
    return std::to_string(d.line) + ":" + std::to_string(d.column) + ": " + d.message;
  }
  std::string all() const { return diagnostics.to_string(); }
};

inline ZoneLoad load_zone_text(const std::string& text, const std::string& name = "test.json") {
  ZoneLoad out;
  out.zone = zone::load_json_zone_text(text, name, out.diagnostics).zone;
  return out;
}

// Lines 1-6 are a valid zone; `lines` (joined with ",\n") become line 7 onwards,
// so a test knows the line of every record it adds.
inline std::string zone_with(const std::vector<std::string>& lines) {
  std::string text =
      "{\n"
      "  \"origin\": \"example.com.\",\n"
      "  \"soa\": {\"mname\": \"ns1\", \"rname\": \"hostmaster\", \"serial\": 1, \"refresh\": 7200, \"retry\": 900, "
      "\"expire\": 1209600, \"minimum\": 300},\n"
      "  \"records\": {\n"
      "    \"@\": {\"NS\": [\"ns1\", \"ns2.example.net.\"]},\n"
      "    \"ns1\": {\"A\": \"192.0.2.1\"}";
  for (const auto& l : lines) text += ",\n" + l;
  text += "\n  }\n}\n";
  return text;
}

// A zone that must load cleanly.
inline std::unique_ptr<zone::Zone> good_zone(const std::string& text) {
  ZoneLoad z = load_zone_text(text);
  INFO(z.all());
  REQUIRE(z.diagnostics.empty());
  REQUIRE(z.zone != nullptr);
  return std::move(z.zone);
}

struct Answer {
  Bytes wire;
  Message msg;
  query::AnswerInfo info;
};

class Responder {
 public:
  Responder() { snapshot_.zones = zones_; }
  explicit Responder(const std::string& zone_json) : Responder() { add_zone(zone_json); }

  void add_zone(const std::string& zone_json) { REQUIRE(zones_->add(good_zone(zone_json))); }
  query::Snapshot& snapshot() { return snapshot_; }
  const zone::ZoneSet& zones() const { return *zones_; }

  // The client every test query comes from: 192.0.2.200.
  static query::ClientAddress source() {
    query::ClientAddress src;
    src.family = 4;
    src.address[0] = 192;
    src.address[1] = 0;
    src.address[2] = 2;
    src.address[3] = 200;
    return src;
  }

  // Answers packet; out_capacity is the buffer answer_query may use.
  Answer ask(const Bytes& packet, query::Transport transport = query::Transport::udp,
             std::size_t out_capacity = 65535) {
    Answer a;
    std::vector<uint8_t> out(out_capacity, 0);
    const query::ClientAddress src = source();
    const std::size_t n =
        query::answer_query(snapshot_, packet.data(), packet.size(), src, transport, std::chrono::steady_clock::now(),
                            out.data(), out.size(), &a.info);
    REQUIRE(n <= out_capacity);
    a.wire.assign(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n));
    if (n > 0) a.msg = parse_message(a.wire);
    return a;
  }
  // The same answer written over the query in its own buffer of capacity bytes,
  // as the UDP server does.
  Bytes ask_in_place(const Bytes& packet, std::size_t capacity = 4096) {
    std::vector<uint8_t> buffer(capacity, 0);
    std::copy(packet.begin(), packet.end(), buffer.begin());
    const query::ClientAddress src = source();
    const std::size_t n = query::answer_query(snapshot_, buffer.data(), packet.size(), src, query::Transport::udp,
                                              std::chrono::steady_clock::now(), buffer.data(), buffer.size(), nullptr);
    return Bytes(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(n));
  }
  Answer ask(std::string_view name, uint16_t qtype, query::Transport transport = query::Transport::udp) {
    return ask(make_query(name, qtype), transport);
  }

 private:
  std::shared_ptr<zone::ZoneSet> zones_ = std::make_shared<zone::ZoneSet>();
  query::Snapshot snapshot_;
};

}  // namespace meridian::test
