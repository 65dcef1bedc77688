// The cookie secret file (`dns.cookies.secret_file`): the secret new cookies are
// made with as 32 hex digits on its first line, as NSD's `cookie-secret`, and
// optionally the previous secret on a second line, still accepted while clients
// move over after a rotation. Blank lines and lines starting with '#' are skipped.
#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "config/diagnostics.hpp"
#include "cookies/server_cookie.hpp"

namespace meridian::cookies {

// Errors at file:line:column; nullopt when there are any.
std::optional<Secrets> parse_secrets(std::string_view text, const std::string& file, config::Diagnostics& diagnostics);

// Reads and parses the file; a file others may read is warned about (anyone
// holding the secret can forge cookies for any address).
std::optional<Secrets> read_secret_file(const std::string& path, config::Diagnostics& diagnostics);

// A secret from the kernel's random source, for a server without a secret file.
Secret random_secret();

}  // namespace meridian::cookies
