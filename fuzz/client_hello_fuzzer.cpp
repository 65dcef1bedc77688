// The L4 listener's ClientHello parser (lib/forward/l4/client_hello.cpp): the first bytes of
// a connection, as an L4 listener with "sni" peeks at them. Byte 0 picks a prefix length.
// Beyond crashes and UB, the parser must be consistent over prefixes, as the listener sees
// the bytes arrive: a prefix of an incomplete input is incomplete; a prefix found invalid
// makes the whole invalid; a complete prefix gives the whole the same result (the parser
// never looks past the ClientHello). A server name is a lower-case host name.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

#include "forward/l4/client_hello.hpp"

namespace {

using meridian::forward::l4::ClientHello;
using meridian::forward::l4::parse_client_hello;

[[noreturn]] void fail(const char* why) {
  std::fprintf(stderr, "client_hello_fuzzer: %s\n", why);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::span<const uint8_t> bytes(data + 1, size - 1);
  const ClientHello whole = parse_client_hello(bytes);
  const std::size_t cut = bytes.size() * data[0] / 255;
  const ClientHello prefix = parse_client_hello(bytes.first(cut));
  using S = ClientHello::Status;
  if (whole.status == S::incomplete && prefix.status != S::incomplete) fail("a prefix of an incomplete input is not incomplete");
  if (prefix.status == S::invalid && whole.status != S::invalid) fail("an invalid prefix, a valid whole");
  if (prefix.status == S::complete && (whole.status != S::complete || whole.server_name != prefix.server_name))
    fail("a complete prefix, a different whole");
  if (whole.status == S::complete) {
    const std::string& n = whole.server_name;
    if (n.size() > 253 || (!n.empty() && (n.front() == '.' || n.back() == '.'))) fail("bad server name");
    for (const char c : n)
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
        fail("bad server name character");
  }
  if (whole.status == S::incomplete && bytes.size() >= meridian::forward::l4::kMaxClientHelloWire)
    fail("more than kMaxClientHelloWire bytes without a decision");
  return 0;
}
