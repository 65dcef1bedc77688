// PROXY protocol headers (HAProxy's spec, v1 text and v2 binary) that tell a backend
// the real client and the address it connected to.
#pragma once
#include <string>

#include <boost/asio/ip/tcp.hpp>

namespace meridian::forward::l4 {

std::string proxy_v1(const boost::asio::ip::tcp::endpoint& client, const boost::asio::ip::tcp::endpoint& local);
std::string proxy_v2(const boost::asio::ip::tcp::endpoint& client, const boost::asio::ip::tcp::endpoint& local);

}  // namespace meridian::forward::l4
