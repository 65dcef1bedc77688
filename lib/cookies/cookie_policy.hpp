// What the query path needs to answer COOKIE options, carried by value in the
// query snapshot: a reload that rotates the secrets publishes a new snapshot, so
// every worker switches between two queries, never in the middle of one.
#pragma once
#include <optional>

#include "config/diagnostics.hpp"
#include "config/server_config.hpp"
#include "cookies/server_cookie.hpp"

namespace meridian::cookies {

struct CookiePolicy {
  bool enabled = false;
  // UDP queries with a COOKIE option but no valid server cookie get BADCOOKIE.
  bool require = false;
  Secrets secrets;
  bool random_secret = false;  // made at start (no secret file)
};

// The policy for the settings: secrets from the secret file, or without one a
// random secret, kept from `previous` across reloads so that clients' cookies
// stay valid. nullopt when the secret file is wrong (errors in diagnostics).
std::optional<CookiePolicy> load_cookie_policy(const config::CookieSettings& settings, const CookiePolicy* previous,
                                               config::Diagnostics& diagnostics);

}  // namespace meridian::cookies
