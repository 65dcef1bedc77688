#include "health/checks/probes/dns_message.hpp"

#include <algorithm>
#include <memory>

#include <ldns/ldns.h>

#include <boost/asio/ip/address.hpp>

namespace meridian::health {

namespace {

struct PacketFree {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
using Packet = std::unique_ptr<ldns_pkt, PacketFree>;

std::string rcode_name(uint8_t rcode) {
  static const char* const names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"};
  return rcode < std::size(names) ? names[rcode] : std::to_string(rcode);
}

// The addresses of the answer section's A and AAAA records, as normalised text.
std::vector<std::string> answer_addresses(const ldns_pkt* pkt) {
  std::vector<std::string> out;
  const ldns_rr_list* answer = ldns_pkt_answer(pkt);
  for (std::size_t i = 0; answer && i < ldns_rr_list_rr_count(answer); ++i) {
    const ldns_rr* rr = ldns_rr_list_rr(answer, i);
    const ldns_rdf* rdata = ldns_rr_rdf(rr, 0);
    if (!rdata) continue;
    if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_A && ldns_rdf_size(rdata) == 4) {
      boost::asio::ip::address_v4::bytes_type b;
      std::copy_n(ldns_rdf_data(rdata), 4, b.begin());
      out.push_back(boost::asio::ip::address_v4(b).to_string());
    } else if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_AAAA && ldns_rdf_size(rdata) == 16) {
      boost::asio::ip::address_v6::bytes_type b;
      std::copy_n(ldns_rdf_data(rdata), 16, b.begin());
      out.push_back(boost::asio::ip::address_v6(b).to_string());
    }
  }
  return out;
}

}  // namespace

std::vector<uint8_t> dns_check_query(const CheckConfig& config, std::string& why) {
  ldns_pkt* raw = nullptr;
  // No RD: a check asks an authoritative server about its own data.
  const ldns_status made = ldns_pkt_query_new_frm_str(&raw, config.qname.c_str(), static_cast<ldns_rr_type>(config.qtype),
                                                      LDNS_RR_CLASS_IN, 0);
  Packet pkt(raw);
  if (made != LDNS_STATUS_OK) {
    why = "query for \"" + config.qname + "\": " + ldns_get_errorstr_by_id(made);
    return {};
  }
  ldns_pkt_set_id(pkt.get(), 0);
  ldns_pkt_set_edns_udp_size(pkt.get(), 1232);  // room for a large answer over UDP
  uint8_t* wire = nullptr;
  std::size_t size = 0;
  if (ldns_pkt2wire(&wire, pkt.get(), &size) != LDNS_STATUS_OK) {
    why = "query for \"" + config.qname + "\" does not encode";
    return {};
  }
  std::vector<uint8_t> out(wire, wire + size);
  LDNS_FREE(wire);
  return out;
}

ProbeResult judge_dns_response(const CheckConfig& config, const uint8_t* data, std::size_t size, uint16_t id,
                               bool& matched) {
  matched = false;
  ldns_pkt* raw = nullptr;
  if (size < 12 || ldns_wire2pkt(&raw, data, size) != LDNS_STATUS_OK) {
    // a response to our id that does not parse is a verdict; anything else is a stray
    if (size >= 3 && ((data[0] << 8) | data[1]) == id && (data[2] & 0x80)) {
      matched = true;
      return {false, "malformed response"};
    }
    return {};
  }
  Packet pkt(raw);
  if (ldns_pkt_id(pkt.get()) != id || !ldns_pkt_qr(pkt.get())) return {};
  matched = true;
  const uint8_t rcode = static_cast<uint8_t>(ldns_pkt_get_rcode(pkt.get()));
  if (rcode != config.expect_rcode) return {false, "rcode " + rcode_name(rcode)};
  if (ldns_pkt_tc(pkt.get()) && !config.expect_answer.empty())
    return {false, "answer truncated"};  // over UDP the probe asks again over TCP
  if (!config.expect_answer.empty()) {
    const std::vector<std::string> got = answer_addresses(pkt.get());
    for (const auto& want : config.expect_answer)
      if (std::find(got.begin(), got.end(), want) == got.end()) return {false, "answer lacks " + want};
  }
  return {true, "rcode " + rcode_name(rcode) +
                    (config.expect_answer.empty() ? "" : ", " + std::to_string(ldns_pkt_ancount(pkt.get())) + " answers")};
}

}  // namespace meridian::health
