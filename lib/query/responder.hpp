// The authoritative answer logic (RFC 1034 4.3.2 with RFC 2308, 4592, 6891, 7871,
// 8482): one query packet in, one response packet out, written from the zone's
// precompiled wire data. Stateless apart from the snapshot it reads; no allocation.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "dns/query.hpp"
#include "dns/writer.hpp"
#include "query/snapshot.hpp"

namespace meridian::query {

enum class Transport : uint8_t { udp = 0, tcp = 1 };

// The packet source; used when the query carries no Client Subnet option.
struct ClientAddress {
  uint8_t family = 0;  // 4 or 6
  uint8_t address[16] = {};
};

// What happened, for metrics and logs.
struct AnswerInfo {
  uint16_t rcode = 0;
  uint16_t qtype = 0;
  const zone::Zone* zone = nullptr;
  bool truncated = false;
  bool dropped = false;
  int16_t service = -1;   // dynamic answer: the service and region chosen
  int16_t region = -1;
  bool failover = false;
};

// Answers one query into out (capacity >= 65535 for TCP, >= the UDP limit for
// UDP); returns the response length, or 0 when nothing is to be sent. out may be
// the packet itself: the query is parsed whole before anything is written, and the
// header and question are then already in place. `now` is read by the caller once
// per batch: dynamic TTLs count down to health changes.
std::size_t answer_query(const Snapshot& snapshot, const uint8_t* packet, std::size_t length,
                         const ClientAddress& source, Transport transport, std::chrono::steady_clock::time_point now,
                         uint8_t* out, std::size_t out_capacity, AnswerInfo* info = nullptr);

}  // namespace meridian::query
