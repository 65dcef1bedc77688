#include "admin/admin_client.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace meridian::admin {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

ClientResponse admin_request(const util::HostPort& where, const std::string& method, const std::string& target,
                             const std::string& token, std::chrono::milliseconds deadline) {
  ClientResponse out;
  asio::ip::address address = where.address;
  if (address.is_unspecified())
    address = address.is_v6() ? asio::ip::address(asio::ip::address_v6::loopback())
                              : asio::ip::address(asio::ip::address_v4::loopback());
  asio::io_context io;
  beast::tcp_stream stream(io);
  beast::flat_buffer buffer;
  http::request<http::empty_body> req(http::string_to_verb(method), target, 11);
  req.set(http::field::host, address.to_string());
  req.set(http::field::user_agent, "meridian");
  if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
  req.prepare_payload();
  http::response_parser<http::string_body> parser;
  parser.body_limit(16 * 1024 * 1024);
  boost::system::error_code failure;
  // tcp_stream's deadline covers connect, write and read together.
  stream.expires_after(deadline);
  stream.async_connect(asio::ip::tcp::endpoint(address, where.port), [&](const boost::system::error_code& ec) {
    if (ec) return void(failure = ec);
    http::async_write(stream, req, [&](const boost::system::error_code& ec2, std::size_t) {
      if (ec2) return void(failure = ec2);
      http::async_read(stream, buffer, parser, [&](const boost::system::error_code& ec3, std::size_t) {
        if (ec3) failure = ec3;
      });
    });
  });
  io.run();
  if (failure) {
    out.error = failure == beast::error::timeout ? "no answer within " + std::to_string(deadline.count() / 1000) + "s"
                                                 : failure.message();
    return out;
  }
  out.ok = true;
  out.status = parser.get().result_int();
  out.body = parser.get().body();
  return out;
}

}  // namespace meridian::admin
