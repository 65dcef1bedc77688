#include "health/checks/check_config.hpp"

#include <ldns/ldns.h>

#include <boost/asio/ip/address.hpp>

#include "config/json_object_reader.hpp"
#include "tls/client_tls_config.hpp"
#include "health/checks/probe.hpp"

namespace meridian::health {

namespace {
using nlohmann::json;
using Pointer = json::json_pointer;

constexpr std::pair<std::string_view, uint8_t> kRcodes[] = {
    {"NOERROR", 0}, {"FORMERR", 1}, {"SERVFAIL", 2}, {"NXDOMAIN", 3}, {"NOTIMP", 4}, {"REFUSED", 5}};

bool known_rcode(const std::string& name) {
  for (const auto& rcode : kRcodes)
    if (rcode.first == name) return true;
  return false;
}

// "https" and "h2": TLS unless an h2 check says "tls": false (h2c, prior knowledge).
void read_tls_keys(config::JsonObjectReader& check, CheckConfig& c, const ProbeType* probe,
                   const std::string& base_dir) {
  c.tls = probe && probe->name == CheckConfig::https;
  if (probe && probe->name == CheckConfig::h2) {
    c.tls = true;
    check.boolean("tls", c.tls);
  } else {
    check.allow({"tls"});
    if (probe && check.contains("tls")) check.error("tls", "\"tls\" applies to h2 checks only (https always uses TLS)");
  }
  if (!tls::read_client_tls_keys(check, c.tls_settings, base_dir) || !probe) return;
  if (!c.tls) {
    for (const std::string_view key : {"sni", "verify", "ca", "min_version"})
      if (check.contains(key))
        check.error(key, "\"" + std::string(key) + "\" applies to https checks and h2 checks over TLS only");
    return;
  }
  // A CA file that does not load is an error here, at "ca"; probes load it again per attempt.
  tls::load_client_tls(check, c.tls_settings, "127.0.0.1");
}

void read_dns_keys(config::JsonObjectReader& check, CheckConfig& c, const ProbeType* probe) {
  const bool dns = probe && probe->name == CheckConfig::dns;
  const auto dns_only = [&](std::string_view key) {
    if (probe && !dns && check.contains(key)) check.error(key, "\"" + std::string(key) + "\" applies to dns checks only");
  };
  for (const auto key : {"qname", "qtype", "expect_rcode", "expect_answer", "transport"}) dns_only(key);
  check.string("qname", c.qname,
               dns ? config::KeyRules::required("a dns check needs \"qname\": the name to ask for",
                                               "\"qname\" is a domain name such as \"www.example.com\"")
                   : config::KeyRules::optional("\"qname\" is a domain name such as \"www.example.com\""),
               [](const std::string& name) {
                 ldns_rdf* rdf = nullptr;
                 const bool ok = !name.empty() && ldns_str2rdf_dname(&rdf, name.c_str()) == LDNS_STATUS_OK;
                 ldns_rdf_deep_free(rdf);
                 return ok;
               });
  std::string qtype;
  if (check.string("qtype", qtype, config::KeyRules::optional("\"qtype\" is a record type such as \"A\" or \"AAAA\""),
                   [](const std::string& t) { return ldns_get_rr_type_by_name(t.c_str()) != 0; }) &&
      !qtype.empty())
    c.qtype = static_cast<uint16_t>(ldns_get_rr_type_by_name(qtype.c_str()));
  std::string rcode;
  if (check.string("expect_rcode", rcode,
                   config::KeyRules::optional("\"expect_rcode\" is NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP or REFUSED"),
                   &known_rcode))
    for (const auto& [name, code] : kRcodes)
      if (name == rcode) c.expect_rcode = code;
  if (const json* list = check.array("expect_answer",
                                     config::KeyRules::optional("\"expect_answer\" lists IPv4/IPv6 addresses"))) {
    for (std::size_t i = 0; i < list->size(); ++i) {
      boost::system::error_code ec;
      const auto address = (*list)[i].is_string() ? boost::asio::ip::make_address((*list)[i].get<std::string>(), ec)
                                                  : boost::asio::ip::address();
      if (!(*list)[i].is_string() || ec) {
        check.sink().report(check.pointer("expect_answer") / i, "an expected answer is an IPv4 or IPv6 address", false);
        continue;
      }
      c.expect_answer.push_back(address.to_string());
    }
  }
  check.one_of("transport", c.dns_tcp, {{"udp", false}, {"tcp", true}},
               config::KeyRules::optional("\"transport\" is \"udp\" or \"tcp\""));
}
}  // namespace

uint16_t endpoint_default_port(const CheckConfig& config) {
  if (config.kind == CheckConfig::dns) return 53;
  return config.tls ? 443 : 80;
}

CheckMap read_checks(const config::JsonSource& src, config::Diagnostics& diags, const std::string& base_dir) {
  CheckMap out;
  const json& root = src.root();
  if (!root.is_object() || !root.contains("checks")) return out;
  const json& checks = root["checks"];
  if (!checks.is_object()) {
    diags.add(src.error_at(Pointer("/checks"), "\"checks\" must be an object of named checks"));
    return out;
  }
  config::DiagnosticsSink sink(src, diags);
  for (const auto& [name, def] : checks.items()) {
    config::JsonObjectReader check(def, Pointer("/checks") / name, sink);
    if (!check.is_object()) {
      check.error("a check is an object with \"type\": " + probe_type_names());
      continue;
    }
    CheckConfig c;
    c.name = name;
    const std::string type_problem = "\"type\" must be " + probe_type_names();
    std::string type;
    check.string("type", type, config::KeyRules::required(type_problem, type_problem),
                 [](const std::string& t) { return find_probe_type(t) != nullptr; });
    // With an unknown type the other keys are still read, for their errors and the unknown keys.
    const ProbeType* probe = find_probe_type(type);
    if (probe) c.kind = probe->name;
    check.duration("interval", c.interval);
    check.duration("timeout", c.timeout);
    check.integer("rise", c.rise, 1, 100);
    check.integer("fall", c.fall, 1, 100);
    check.one_of("initial", c.initial_up, {{"up", true}, {"down", false}});
    check.number("jitter", c.jitter, 0, 0.5,
                 config::KeyRules::optional("\"jitter\" is a share of the interval from 0 to 0.5"));
    check.duration("hold_down", c.hold_down, config::ZeroDuration::allowed);
    if (c.timeout > c.interval) check.error("timeout", "\"timeout\" must not be longer than \"interval\"");
    check.integer("port", c.port, 1, 65535);
    check.string("path", c.path, config::KeyRules::optional("\"path\" must start with /"),
                 [](const std::string& p) { return !p.empty() && p[0] == '/'; });
    check.string("host", c.host);
    if (const json* e = check.find("expect")) {
      c.expect.clear();
      if (e->is_number_unsigned()) c.expect.push_back(e->get<unsigned>());
      else if (e->is_array() && !e->empty()) {
        for (const auto& v : *e) {
          if (!v.is_number_unsigned() || v.get<unsigned>() < 100 || v.get<unsigned>() > 599) {
            check.error("expect", "\"expect\" lists HTTP status codes (100-599)");
            break;
          }
          c.expect.push_back(v.get<unsigned>());
        }
      } else {
        check.error("expect", "\"expect\" lists HTTP status codes (100-599)");
      }
    }
    check.string("body", c.body_contains,
                 config::KeyRules::optional("\"body\" is a text the response body must contain"));
    read_tls_keys(check, c, probe, base_dir);
    read_dns_keys(check, c, probe);
    check.report_unknown_keys();
    if (!probe) continue;
    if (!probe->http_settings && (check.contains("path") || check.contains("expect") || check.contains("body")))
      check.error("path/expect/body apply to http, https and h2 checks only");
    out[name] = c;
  }
  return out;
}

}  // namespace meridian::health
