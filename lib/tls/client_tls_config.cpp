#include "tls/client_tls_config.hpp"

#include <openssl/ssl.h>

#include "config/path.hpp"

namespace meridian::tls {

using config::KeyRules;

bool read_client_tls_keys(config::JsonObjectReader& r, ClientTlsSettings& s, const std::string& base_dir) {
  const auto nonempty = [](const std::string& v) { return !v.empty(); };
  bool ok = r.boolean("verify", s.verify);
  ok &= r.string("ca", s.ca, KeyRules::optional("\"ca\" is a PEM file of trusted CA certificates"), nonempty);
  ok &= r.string("sni", s.sni, KeyRules::optional("\"sni\" is the server name to send and verify"), nonempty);
  ok &= r.one_of("min_version", s.min_version, {{"1.2", TLS1_2_VERSION}, {"1.3", TLS1_3_VERSION}},
                 KeyRules::optional("\"min_version\" is \"1.2\" or \"1.3\""));
  if (!s.verify && r.contains("ca")) {
    r.error("ca", "\"ca\" is used only with \"verify\": true");
    ok = false;
  }
  s.ca = config::resolve_path(base_dir, s.ca);
  return ok;
}

std::shared_ptr<ClientTls> load_client_tls(config::JsonObjectReader& r, const ClientTlsSettings& s,
                                           const std::string& peer_address) {
  std::string why;
  auto tls = ClientTls::load(s, peer_address, why);
  if (!tls) {
    if (r.contains("ca")) r.error("ca", why);
    else r.error(why);
  }
  return tls;
}

}  // namespace meridian::tls
