// The L7 forwarding tier's HTTP/1.1 request parsing (lib/forward/l7): Beast's request
// parser with the listener's pooled fields and limits, fed in two pieces (byte 0 picks
// where the first read ends), then the smuggling checks (check_request_framing),
// is_idempotent and the Retry-After/HTTP-date parsers over every field value. A request
// the tier accepts is rewritten as it forwards it (hop-by-hop fields dropped, as_http11)
// and serialized: those bytes must parse again as one whole
// request that passes the same checks (the tier must not send what it would refuse).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>

#include "forward/l7/framing.hpp"

namespace {

namespace http = boost::beast::http;
using namespace meridian::forward::l7;

[[noreturn]] void fail(const char* why, const std::string& wire) {
  std::fprintf(stderr, "http_request_fuzzer: %s:\n%s\n", why, wire.c_str());
  std::abort();
}

constexpr std::size_t kMaxHeader = 16384;  // the listener's defaults (forward/settings.hpp)
constexpr std::size_t kMaxBody = 1 << 20;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t first_read = std::min<std::size_t>(data[0], size - 1);
  const std::string_view raw(reinterpret_cast<const char*>(data + 1), size - 1);

  classify_raw_request(raw, kMaxHeader, kMaxBody);

  http::request_parser<http::string_body, PoolAllocator<char>> parser;
  parser.header_limit(static_cast<std::uint32_t>(kMaxHeader));
  parser.body_limit(kMaxBody);
  parser.eager(true);
  boost::system::error_code ec;
  std::size_t used = 0;
  // Two reads, as a slow client's bytes arrive; Beast asks for more until a whole header is in.
  for (const std::size_t end : {first_read, raw.size()}) {
    while (!ec && !parser.is_done() && used < end) {
      const std::size_t n = parser.put(boost::asio::buffer(raw.data() + used, end - used), ec);
      if (ec == http::error::need_more) {
        ec = {};
        if (n == 0) break;
      }
      used += n;
      if (n == 0) break;
    }
  }
  if (ec || !parser.is_header_done()) return 0;
  auto& head = parser.get();
  const bool framing_ok = check_request_framing(head.base()).empty();
  is_idempotent(head.base());
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'780'000'000));
  for (const auto& field : head) retry_after_ms(std::string_view(field.value().data(), field.value().size()), now);
  if (!framing_ok || !parser.is_done()) return 0;

  auto request = parser.release();
  for (const auto name : {http::field::connection, http::field::keep_alive, http::field::proxy_connection,
                          http::field::te, http::field::trailer, http::field::transfer_encoding, http::field::upgrade})
    request.erase(name);
  as_http11(request);
  std::string wire;
  serialize(wire, request);
  if (classify_raw_request(wire, kMaxHeader + wire.size(), kMaxBody) != 0) fail("the forwarded request is refused", wire);
  return 0;
}
