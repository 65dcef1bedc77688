// The L4 listener's ClientHello parser (SNI passthrough) and its choice of group by name.
#include <doctest/doctest.h>

#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "forward/l4/client_hello.hpp"
#include "forward/l4/sni_router.hpp"

using namespace meridian::forward;
using namespace meridian::forward::l4;
using Bytes = std::vector<uint8_t>;
using Status = ClientHello::Status;

namespace {

void put16(Bytes& b, std::size_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
void put24(Bytes& b, std::size_t v) {
  b.push_back(static_cast<uint8_t>(v >> 16));
  put16(b, v & 0xffff);
}
void append(Bytes& b, const Bytes& more) { b.insert(b.end(), more.begin(), more.end()); }

Bytes extension(uint16_t type, const Bytes& body) {
  Bytes e;
  put16(e, type);
  put16(e, body.size());
  append(e, body);
  return e;
}

// server_name with the given (name_type, name) entries.
Bytes server_name(const std::vector<std::pair<uint8_t, std::string>>& names) {
  Bytes list;
  for (const auto& [type, name] : names) {
    list.push_back(type);
    put16(list, name.size());
    list.insert(list.end(), name.begin(), name.end());
  }
  Bytes body;
  put16(body, list.size());
  append(body, list);
  return extension(0, body);
}

// A ClientHello handshake message (header included) with these extensions (nullopt: none
// at all, as TLS 1.0 clients may send).
Bytes hello_message(const std::optional<Bytes>& extensions) {
  Bytes body = {3, 3};
  body.insert(body.end(), 32, 0x42);         // random
  body.push_back(0);                         // session id
  put16(body, 4);                            // cipher suites
  append(body, {0x13, 0x01, 0xc0, 0x2f});
  append(body, {1, 0});                      // compression: null
  if (extensions) {
    put16(body, extensions->size());
    append(body, *extensions);
  }
  Bytes m = {1};
  put24(m, body.size());
  append(m, body);
  return m;
}

// The message in TLS records of at most `chunk` bytes each.
Bytes records(const Bytes& message, std::size_t chunk = 16384) {
  Bytes wire;
  for (std::size_t at = 0; at < message.size(); at += chunk) {
    const std::size_t n = std::min(chunk, message.size() - at);
    append(wire, {22, 3, 1});
    put16(wire, n);
    wire.insert(wire.end(), message.begin() + static_cast<long>(at), message.begin() + static_cast<long>(at + n));
  }
  return wire;
}

Bytes with_name(const std::string& name) {
  Bytes ext = extension(0x000a, {0, 2, 0, 0x1d});  // supported_groups, before and after
  append(ext, server_name({{0, name}}));
  append(ext, extension(0x002b, {2, 3, 4}));
  return records(hello_message(ext));
}

ClientHello parse(const Bytes& b) { return parse_client_hello(std::span<const uint8_t>(b.data(), b.size())); }

Bytes corpus_file(const std::string& name) {
  std::ifstream in(std::string(MERIDIAN_SOURCE_DIR) + "/fuzz/corpus/client_hello/" + name, std::ios::binary);
  Bytes b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  REQUIRE(b.size() > 1);
  b.erase(b.begin());  // the fuzz target's first byte (a prefix length)
  return b;
}

}  // namespace

TEST_CASE("client_hello: real ClientHellos (openssl s_client, curl) give their server name") {
  for (const auto& [file, name] : std::vector<std::pair<std::string, std::string>>{
           {"openssl-tls13-sni", "www.example.com"},
           {"openssl-tls12-sni", "api.example.com"},
           {"openssl-tls10-sni", "old.example.com"},
           {"openssl-alpn-sni", "x.y.example.org"},  // sent as x.y.Example.ORG: lower-cased
           {"curl-sni", "www.example.net"},
           {"openssl-no-sni", ""}}) {
    CAPTURE(file);
    const Bytes wire = corpus_file(file);
    const ClientHello h = parse(wire);
    CHECK(h.status == Status::complete);
    CHECK(h.server_name == name);
    // every prefix is incomplete: the listener waits for more
    for (std::size_t n = 0; n < wire.size(); ++n) {
      const ClientHello p = parse_client_hello(std::span<const uint8_t>(wire.data(), n));
      if (p.status != Status::incomplete) FAIL("prefix of " << n << " bytes: " << p.error);
    }
  }
}

TEST_CASE("client_hello: records may split the message anywhere") {
  Bytes ext = server_name({{0, "multi.example.com"}});
  const Bytes message = hello_message(ext);
  for (const std::size_t chunk : {1u, 2u, 3u, 5u, 7u, 40u, 64u}) {
    CAPTURE(chunk);
    const Bytes wire = records(message, chunk);
    if ((message.size() + chunk - 1) / chunk > static_cast<std::size_t>(kMaxClientHelloRecords)) {
      CHECK(parse(wire).status == Status::invalid);  // spread too thin: refused
      continue;
    }
    const ClientHello h = parse(wire);
    CHECK(h.status == Status::complete);
    CHECK(h.server_name == "multi.example.com");
  }
  // what follows the ClientHello in its last record is not looked at
  Bytes wire = records(message);
  wire.insert(wire.end(), {0xde, 0xad});
  wire[3] = static_cast<uint8_t>((message.size() + 2) >> 8);
  wire[4] = static_cast<uint8_t>(message.size() + 2);
  CHECK(parse(wire).server_name == "multi.example.com");
}

TEST_CASE("client_hello: no SNI, no extensions") {
  const ClientHello none = parse(records(hello_message(extension(0x000a, {0, 2, 0, 0x1d}))));
  CHECK(none.status == Status::complete);
  CHECK(none.server_name.empty());
  const ClientHello bare = parse(records(hello_message(std::nullopt)));
  CHECK(bare.status == Status::complete);
  CHECK(bare.server_name.empty());
}

TEST_CASE("client_hello: truncated and inconsistent lengths are refused") {
  const Bytes good = with_name("a.example.com");
  CHECK(parse(good).status == Status::complete);
  // extensions length one more than what is there
  Bytes ext = server_name({{0, "a.example.com"}});
  Bytes message = hello_message(ext);
  const std::size_t ext_len_at = 4 + 2 + 32 + 1 + 2 + 4 + 2;
  message[ext_len_at + 1] = static_cast<uint8_t>(message[ext_len_at + 1] + 1);
  CHECK(parse(records(message)).status == Status::invalid);
  // an extension claiming more than its list holds
  Bytes bad_ext = extension(0, {0, 20, 0, 0, 3, 'a', 'b', 'c'});
  CHECK(parse(records(hello_message(bad_ext))).status == Status::invalid);
  // a name claiming more bytes than the list
  Bytes bad_name = extension(0, {0, 6, 0, 0, 9, 'a', 'b', 'c'});
  CHECK(parse(records(hello_message(bad_name))).status == Status::invalid);
  // the handshake ends inside the fixed fields
  Bytes short_msg = {1, 0, 0, 10, 3, 3, 1, 2, 3, 4, 5, 6, 7, 8};
  CHECK(parse(records(short_msg)).status == Status::invalid);
  // a session id over 32 bytes
  Bytes long_session = hello_message(std::nullopt);
  long_session[4 + 2 + 32] = 33;
  CHECK(parse(records(long_session)).status == Status::invalid);
}

TEST_CASE("client_hello: oversized records and messages are refused from their header") {
  Bytes big_record = {22, 3, 1, 0x40, 0x01};  // 16385 bytes: over 2^14
  CHECK(parse(big_record).status == Status::invalid);
  Bytes big_message = {22, 3, 1, 0, 4, 1, 0x00, 0x40, 0x01};  // a 16385-byte ClientHello
  CHECK(parse(big_message).status == Status::invalid);
  Bytes empty_record = {22, 3, 1, 0, 0};
  CHECK(parse(empty_record).status == Status::invalid);
  // the largest allowed message is still read
  Bytes padding(kMaxClientHelloBytes - hello_message(server_name({{0, "p.example.com"}})).size(), 0);
  Bytes ext = server_name({{0, "p.example.com"}});
  append(ext, extension(0x0015, padding));
  const Bytes message = hello_message(ext);
  CHECK(message.size() == kMaxClientHelloBytes + 4);
  const Bytes wire = records(message);
  CHECK(wire.size() <= kMaxClientHelloWire);
  CHECK(parse(wire).server_name == "p.example.com");
}

TEST_CASE("client_hello: what is not a TLS ClientHello is refused at once") {
  const std::string get = "GET / HTTP/1.1\r\n";
  CHECK(parse(Bytes(get.begin(), get.end())).status == Status::invalid);
  CHECK(parse(Bytes{'G'}).status == Status::invalid);           // the first byte decides
  CHECK(parse(Bytes{0x80, 0x2e, 0x01}).status == Status::invalid);  // SSLv2-style hello
  CHECK(parse(Bytes{21, 3, 3, 0, 2, 2, 40}).status == Status::invalid);  // an alert
  CHECK(parse(Bytes{22, 2, 0}).status == Status::invalid);        // SSL 2 record version
  CHECK(parse(Bytes{22, 3, 1, 0, 4, 2, 0, 0, 0}).status == Status::invalid);  // a ServerHello
  Bytes ssl3 = hello_message(std::nullopt);
  ssl3[4 + 1] = 0;  // legacy_version 3.0
  CHECK(parse(records(ssl3)).status == Status::invalid);
  CHECK(parse(Bytes{}).status == Status::incomplete);
  CHECK(parse(Bytes{22, 3}).status == Status::incomplete);
}

TEST_CASE("client_hello: server_name is one valid host name") {
  CHECK(parse(with_name("WWW.Example.COM")).server_name == "www.example.com");
  CHECK(parse(with_name("under_score.example")).status == Status::complete);
  for (const std::string& bad :
       std::vector<std::string>{"trailing.dot.", ".leading", "two..dots", "sp ace.com", std::string("nul\0x", 5),
                                "caf\xc3\xa9.fr", std::string(64, 'a') + ".com", ""}) {
    CAPTURE(bad);
    CHECK(parse(with_name(bad)).status == Status::invalid);
  }
  CHECK(parse(with_name(std::string(63, 'a') + ".com")).status == Status::complete);
  // two names, or a name type other than host_name
  CHECK(parse(records(hello_message(server_name({{0, "a.com"}, {0, "b.com"}})))).status == Status::invalid);
  CHECK(parse(records(hello_message(server_name({{1, "a.com"}})))).status == Status::invalid);
  // an extension twice
  Bytes twice = server_name({{0, "a.com"}});
  append(twice, server_name({{0, "a.com"}}));
  CHECK(parse(records(hello_message(twice))).status == Status::invalid);
}

TEST_CASE("sni router: exact name, then the longest *.suffix, then *") {
  const std::vector<SniRoute> routes = {{"www.example.com", "web"},
                                        {"*.example.com", "wild"},
                                        {"*.b.example.com", "deep"},
                                        {"*", "default"}};
  const SniRouter router(routes, {}, BalanceSettings{});
  const auto group = [&](std::string_view name) {
    const Group* g = router.choose(name);
    return g ? g->name() : std::string("(none)");
  };
  CHECK(group("www.example.com") == "web");
  CHECK(group("api.example.com") == "wild");
  CHECK(group("a.b.example.com") == "deep");
  CHECK(group("x.a.b.example.com") == "deep");
  CHECK(group("b.example.com") == "wild");
  CHECK(group("example.com") == "default");  // *.example.com covers names below it only
  CHECK(group("other.org") == "default");
  CHECK(group("") == "default");  // no SNI

  const SniRouter strict({{"www.example.com", "web"}}, {}, BalanceSettings{});
  CHECK(strict.choose("www.example.com") != nullptr);
  CHECK(strict.choose("api.example.com") == nullptr);
  CHECK(strict.choose("") == nullptr);
}
