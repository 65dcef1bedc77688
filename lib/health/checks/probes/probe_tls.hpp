// TLS for the https and h2 probes: a client context made per attempt from the check's
// settings (so a replaced CA file counts from the next attempt on; no session is
// resumed, so every attempt verifies the certificate), over the attempt's socket.
#pragma once
#include <memory>
#include <string>

#include "tls/client_tls.hpp"
#include "health/checks/check_config.hpp"

namespace meridian::health {

struct ProbeTls {
  std::shared_ptr<tls::ClientTls> context;
  std::unique_ptr<tls::ClientTlsStream> stream;  // over the attempt's socket

  // Makes the context and the stream for target; false with why when the CA does not load.
  bool open(const CheckConfig& config, const boost::asio::ip::tcp::endpoint& target,
            boost::asio::ip::tcp::socket& socket, std::vector<std::string> alpn, std::string& why) {
    tls::ClientTlsSettings settings = config.tls_settings;
    settings.alpn = std::move(alpn);
    settings.resume_sessions = false;
    context = tls::ClientTls::load(settings, target.address().to_string(), why);
    if (!context) {
      why = "tls: " + why;
      return false;
    }
    stream = context->stream(socket);
    return true;
  }
};

}  // namespace meridian::health
