// The dns probe's query and verdict, on ldns: what goes on the wire (UDP or TCP alike)
// and what a response means for the check.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "health/checks/probe.hpp"

namespace meridian::health {

// The query of a dns check in wire format (id 0; the attempt sets its own); empty with
// why when the name does not encode (read_checks refuses such names).
std::vector<uint8_t> dns_check_query(const CheckConfig& config, std::string& why);

// The verdict on a response to the query with id `id`. matched: false when the packet is
// not a response to it (a stray datagram: keep waiting).
ProbeResult judge_dns_response(const CheckConfig& config, const uint8_t* data, std::size_t size, uint16_t id,
                               bool& matched);

}  // namespace meridian::health
