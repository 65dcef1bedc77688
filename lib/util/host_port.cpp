#include "util/host_port.hpp"

#include <charconv>

namespace meridian::util {

std::string HostPort::to_string() const {
  if (address.is_v6()) {
    std::string out(1, '[');  // appended: GCC 12's -Wrestrict misfires on "[" + std::string at -O3
    out += address.to_string();
    out += "]:";
    out += std::to_string(port);
    return out;
  }
  return address.to_string() + ":" + std::to_string(port);
}

std::optional<HostPort> parse_host_port(const std::string& text) {
  std::string host;
  std::string port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') return std::nullopt;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos || text.find(':') != colon) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  boost::system::error_code ec;
  HostPort hp;
  hp.address = boost::asio::ip::make_address(host, ec);
  if (ec || port.empty()) return std::nullopt;
  unsigned value = 0;
  const auto [end, err] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (err != std::errc() || end != port.data() + port.size() || value > 65535) return std::nullopt;
  hp.port = static_cast<uint16_t>(value);
  return hp;
}

}  // namespace meridian::util
