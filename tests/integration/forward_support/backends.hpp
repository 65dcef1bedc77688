// Clients and helpers for the forwarding tier's integration tests, all on 127.0.0.1 with
// kernel-chosen ports; the backends are the harness's (integration/harness/http_backend.hpp).
// Header-only.
#pragma once
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "forward/forwarding_tier.hpp"
#include "integration/harness/http_backend.hpp"

namespace fwdtest {

// The L7 listener ports from the `event=forward_listening kind=l7 address=IP:PORT` lines, by IP.
inline std::map<std::string, uint16_t> l7_ports(const std::string& log) {
  std::map<std::string, uint16_t> out;
  std::istringstream lines(log);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.find("event=forward_listening") == std::string::npos || line.find("kind=l7") == std::string::npos)
      continue;
    const auto at = line.find("address=");
    if (at == std::string::npos) continue;
    std::string addr = line.substr(at + 8);
    addr = addr.substr(0, addr.find(' '));
    const auto colon = addr.rfind(':');
    out[addr.substr(0, colon)] = static_cast<uint16_t>(std::stoi(addr.substr(colon + 1)));
  }
  return out;
}


namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

template <class Pred>
bool wait_until(Pred p, std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (p()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return p();
}

using meridian::test::HttpBackend;
using meridian::test::set_timeouts;
using meridian::test::Reply;
using Server = meridian::test::TcpServer;

// A keep-alive HTTP client (reconnects when the server closed).
class Client {
 public:
  // source: a local address to bind; host: the server's address.
  explicit Client(uint16_t port, std::string source = "", std::string host = "127.0.0.1")
      : port_(port), source_(std::move(source)), host_(std::move(host)) {}
  // status 0: transport failure
  Response request(http::verb method, const std::string& target, std::map<std::string, std::string> headers = {},
                   const std::string& body = "") {
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (!sock_ && !connect()) return fail();
      Request req{method, target, 11};
      req.set(http::field::host, "test.local");
      for (const auto& [k, v] : headers) req.set(k, v);
      if (!body.empty() || method == http::verb::post || method == http::verb::put) req.body() = body;
      req.prepare_payload();
      boost::system::error_code ec;
      http::write(*sock_, req, ec);
      http::response_parser<http::string_body> parser;
      parser.body_limit(64u << 20);
      if (method == http::verb::head) parser.skip(true);
      if (!ec) http::read(*sock_, buf_, parser, ec);
      Response res = ec ? Response{} : parser.release();
      if (ec) {
        sock_.reset();
        buf_.clear();
        if (attempt == 0) continue;
        return fail();
      }
      if (!res.keep_alive()) sock_.reset(), buf_.clear();
      return res;
    }
    return fail();
  }
  Response get(const std::string& target, std::map<std::string, std::string> headers = {}) {
    return request(http::verb::get, target, std::move(headers));
  }

 private:
  static Response fail() {
    Response r;
    r.result(static_cast<http::status>(0));
    return r;
  }
  bool connect() {
    auto s = std::make_unique<tcp::socket>(io_);
    boost::system::error_code ec;
    s->open(tcp::v4(), ec);
    if (!source_.empty()) s->bind(tcp::endpoint(asio::ip::make_address(source_), 0), ec);
    s->connect(tcp::endpoint(asio::ip::make_address(host_), port_), ec);
    if (ec) return false;
    set_timeouts(s->native_handle(), 20000);
    sock_ = std::move(s);
    return true;
  }
  asio::io_context io_;
  uint16_t port_;
  std::string source_;
  std::string host_;
  std::unique_ptr<tcp::socket> sock_;
  beast::flat_buffer buf_;
};

inline std::unique_ptr<tcp::socket> connect_raw(asio::io_context& io, uint16_t port, int timeout_ms = 20000) {
  auto s = std::make_unique<tcp::socket>(io);
  s->connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  set_timeouts(s->native_handle(), timeout_ms);
  return s;
}

// Sends raw bytes, then reads until the server closes (or the timeout): everything it said.
inline std::string raw_exchange(uint16_t port, const std::string& bytes, int timeout_ms = 20000) {
  asio::io_context io;
  auto s = connect_raw(io, port, timeout_ms);
  boost::system::error_code ec;
  asio::write(*s, asio::buffer(bytes), ec);
  std::string out;
  char buf[4096];
  for (;;) {
    const std::size_t n = s->read_some(asio::buffer(buf), ec);
    if (ec) break;
    out.append(buf, n);
  }
  return out;
}

inline int status_of(const std::string& raw) {
  if (raw.size() < 12 || raw.compare(0, 5, "HTTP/") != 0) return 0;
  return std::atoi(raw.c_str() + 9);
}

// What the tier is given for one service "web" with one region "eu" whose members
// are `region` (backends, forward...), read as the server reads it at load.
inline meridian::forward::ForwardingPlan services(const nlohmann::json& region, const std::string& service = "web",
                                                  const std::string& region_name = "eu") {
  meridian::forward::ForwardedRegion r{service, region_name, {}};
  std::string errors;
  if (!meridian::forward::parse_region(region, r.settings, [&](const nlohmann::json::json_pointer& at, const std::string& m) {
        errors += at.to_string() + ": " + m + "\n";
      }))
    throw std::runtime_error("invalid forwarding settings:\n" + errors);
  return {std::move(r)};
}

inline nlohmann::json backend_list(const std::vector<HttpBackend*>& bs, const std::vector<uint32_t>& weights = {}) {
  nlohmann::json list = nlohmann::json::array();
  for (std::size_t i = 0; i < bs.size(); ++i)
    list.push_back({{"address", bs[i]->address()}, {"weight", i < weights.size() ? weights[i] : 1}});
  return list;
}

// The port a tier listens on for kind ("l4" / "l7"); its n-th listener of that kind.
inline uint16_t port_of(const meridian::forward::ForwardingTier& tier, const std::string& kind, std::size_t n = 0) {
  for (const auto& l : tier.listening()) {
    if (l.rfind(kind + " ", 0) != 0) continue;
    if (n-- == 0) return static_cast<uint16_t>(std::stoi(l.substr(l.rfind(':') + 1)));
  }
  return 0;
}

inline nlohmann::json backend_status(const meridian::forward::ForwardingTier& tier, const std::string& address) {
  const nlohmann::json st = tier.status();  // keep it alive: the loop walks a member of it
  for (const auto& b : st["backends"])
    if (b["address"] == address) return b;
  return {};
}

}  // namespace fwdtest
