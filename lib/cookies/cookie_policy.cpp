#include "cookies/cookie_policy.hpp"

#include "cookies/secret_file.hpp"

namespace meridian::cookies {

std::optional<CookiePolicy> load_cookie_policy(const config::CookieSettings& settings, const CookiePolicy* previous,
                                               config::Diagnostics& diagnostics) {
  CookiePolicy policy;
  policy.enabled = settings.enabled;
  policy.require = settings.require;
  if (!settings.enabled) return policy;
  if (!settings.secret_file.empty()) {
    auto secrets = read_secret_file(settings.secret_file, diagnostics);
    if (!secrets) return std::nullopt;
    policy.secrets = *secrets;
    return policy;
  }
  policy.random_secret = true;
  if (previous && previous->enabled && previous->random_secret) policy.secrets = previous->secrets;
  else policy.secrets.current = random_secret();
  return policy;
}

}  // namespace meridian::cookies
