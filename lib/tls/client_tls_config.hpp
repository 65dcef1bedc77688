// The keys of client-side TLS as meridian.json writes them: a backend's "tls" object and
// the https/h2 checks' own keys share "verify", "ca", "sni" and "min_version".
#pragma once
#include <string>

#include "config/json_object_reader.hpp"
#include "tls/client_tls.hpp"

namespace meridian::tls {

// Reads those keys of r into s ("ca" resolved against base_dir); false when one was wrong
// (reported). r's other keys are the caller's.
bool read_client_tls_keys(config::JsonObjectReader& r, ClientTlsSettings& s, const std::string& base_dir);

// Loads s for peer_address and reports a file that does not load at "ca" of r (or at r
// when s has no CA file); nullptr then.
std::shared_ptr<ClientTls> load_client_tls(config::JsonObjectReader& r, const ClientTlsSettings& s,
                                           const std::string& peer_address);

}  // namespace meridian::tls
