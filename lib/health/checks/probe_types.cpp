// The probe table: each check "type" and the probe that runs it.
#include "health/checks/probe.hpp"

#include <stdexcept>

#include "health/checks/probes/dns_probe.hpp"
#include "health/checks/probes/h2_probe.hpp"
#include "health/checks/probes/http_probe.hpp"
#include "health/checks/probes/tcp_probe.hpp"

namespace meridian::health {

namespace {
constexpr ProbeType kProbeTypes[] = {
    {"tcp", false, make_tcp_probe},
    {"http", true, make_http_probe},
    {"https", true, make_http_probe},  // the http probe over TLS (CheckConfig::tls)
    {"h2", true, make_h2_probe},
    {"dns", false, make_dns_probe},
};
}  // namespace

std::span<const ProbeType> probe_types() { return kProbeTypes; }

const ProbeType* find_probe_type(std::string_view name) {
  for (const ProbeType& t : kProbeTypes)
    if (t.name == name) return &t;
  return nullptr;
}

std::string probe_type_names() {
  std::string out;
  const std::size_t n = std::size(kProbeTypes);
  for (std::size_t i = 0; i < n; ++i) {
    if (i > 0) out += i + 1 == n ? " or " : ", ";
    out += '"';
    out += kProbeTypes[i].name;
    out += '"';
  }
  return out;
}

std::unique_ptr<Probe> make_probe(boost::asio::any_io_executor executor, const CheckConfig& config) {
  const ProbeType* type = find_probe_type(config.kind);
  if (type == nullptr) throw std::invalid_argument("no probe for check type \"" + config.kind + "\"");
  return type->make(std::move(executor), config);
}

}  // namespace meridian::health
