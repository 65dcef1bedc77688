// The "dns" check: one query for `qname`/`qtype` to the target (UDP, or TCP with
// "transport": "tcp"); up when the response's rcode is `expect_rcode` (NOERROR by
// default) and, when `expect_answer` lists addresses, each of them is an A/AAAA record of
// the answer section. Reasons: "rcode SERVFAIL", "answer lacks 192.0.2.1", "timeout
// after 1000ms". A meridian node checks its peers this way.
#pragma once
#include "health/checks/probe.hpp"

namespace meridian::health {

std::unique_ptr<Probe> make_dns_probe(boost::asio::any_io_executor executor, const CheckConfig& config);

}  // namespace meridian::health
