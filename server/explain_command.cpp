#include <boost/asio/ip/address.hpp>

#include <charconv>
#include <cstring>
#include <iostream>

#include "commands.hpp"
#include "dns/constants.hpp"
#include "dns/name.hpp"
#include "query/service_lookup.hpp"
#include "routing/explain.hpp"
#include "runtime/state_loader.hpp"

namespace meridian::cli {

namespace {
bool parse_ip(const std::string& text, int& family, uint8_t* out) {
  boost::system::error_code ec;
  const auto a = boost::asio::ip::make_address(text, ec);
  if (ec) return false;
  if (a.is_v4()) {
    family = 4;
    const auto b = a.to_v4().to_bytes();
    std::memcpy(out, b.data(), 4);
  } else {
    family = 6;
    const auto b = a.to_v6().to_bytes();
    std::memcpy(out, b.data(), 16);
  }
  return true;
}
}  // namespace

int explain(const std::string& config_path, const std::string& name, const std::string& type,
            const std::string& client, const std::string& ecs, bool as_json) {
  config::Diagnostics diagnostics;
  const auto state = runtime::load_state(config_path, diagnostics);
  if (!state) {
    diagnostics.print(std::cerr);
    return 1;
  }
  const auto wire = dns::name_from_text(name.back() == '.' ? name : name + ".");
  if (!wire) {
    std::cerr << "explain: \"" << name << "\" is not a domain name\n";
    return 2;
  }
  routing::ExplainRequest req;
  req.qtype = type == "AAAA" ? dns::type::AAAA : dns::type::A;
  if (type != "A" && type != "AAAA") {
    std::cerr << "explain: TYPE is A or AAAA\n";
    return 2;
  }
  const auto found = query::find_service(*state->zones, dns::fold_wire_name(*wire));
  if (found.service < 0) {
    std::cerr << "explain: " << found.error << "\n";
    return 1;
  }
  req.service = found.service;
  req.client_text = client;
  if (!parse_ip(client, req.client.family, req.client.address)) {
    std::cerr << "explain: --client \"" << client << "\" is not an IP address\n";
    return 2;
  }
  if (!ecs.empty()) {
    const auto slash = ecs.find('/');
    unsigned prefix = 0;
    int family = 4;
    uint8_t addr[16] = {};
    const std::string len = slash == std::string::npos ? "" : ecs.substr(slash + 1);
    const auto [end, err] = std::from_chars(len.data(), len.data() + len.size(), prefix);
    if (slash == std::string::npos || err != std::errc() || end != len.data() + len.size() ||
        !parse_ip(ecs.substr(0, slash), family, addr) || prefix > (family == 4 ? 32u : 128u)) {
      std::cerr << "explain: --ecs \"" << ecs << "\" is not ADDRESS/PREFIX\n";
      return 2;
    }
    req.client = routing::ecs_client(family, addr, prefix, state->services->ecs);
    req.ecs_prefix = static_cast<int>(prefix);
    req.client_text = client + " with ECS " + ecs;
  }
  const auto report = routing::explain(*state->snapshot->routing, req);
  if (as_json) {
    std::cout << report.dump(2) << "\n";
  } else {
    std::cout << "name " << dns::name_to_text(found.name) << " " << type << "\n";
    for (const auto& line : routing::explain_lines(report)) std::cout << line << "\n";
  }
  return 0;
}

}  // namespace meridian::cli
