// One attempt of a request toward an HTTP/2 backend ("protocol": "h2"): a stream on one of
// the backend's pooled sessions (l7/h2/client_pool.*). forward() in http_listener.cpp
// drives it exactly as it drives the HTTP/1.1 exchange (pick, retries, budget, breaker,
// outlier detection); what differs is here: the stream, its timeouts, and relaying the
// answer to an HTTP/2 client as it arrives.
#include <chrono>
#include <utility>  // before asio/awaitable.hpp (Boost 1.74 forgets it)

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "forward/l7/h2/client_pool.hpp"
#include "forward/l7/http_listener.hpp"
#include "util/coarse_clock.hpp"

namespace meridian::forward::l7 {

namespace asio = boost::asio;
using asio::awaitable;
using Clock = std::chrono::steady_clock;

namespace {

// Waits until the stream changes or `until` passes; false when it passed.
awaitable<bool> wait_for_change(h2::ClientStream& st, Clock::time_point until) {
  if (Clock::now() >= until) co_return false;
  st.wake.expires_at(until);
  boost::system::error_code ec;
  co_await st.wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  co_return ec || Clock::now() < until;  // cancelled: something changed
}

std::string field(const Response& res, std::string_view name) {
  const auto v = res[boost::beast::string_view(name.data(), name.size())];
  return std::string(v.data(), v.size());
}

std::string trailer(const h2::HeaderList& trailers, std::string_view name) {
  for (const auto& [n, v] : trailers)
    if (n == name) return v;
  return {};
}

}  // namespace

awaitable<void> HttpListener::exchange_h2(const L7Config& cfg, Backend& b, const Request& req, bool te_trailers,
                                          bool idempotent, h2::StreamRequest* from,
                                          const std::function<void(Response&)>& decorate, Exchange& out) {
  const L7Settings& s = cfg.s;
  ++b.active;  // least_conn and the bulkhead count streams as requests
  ++b.counters.requests;
  b.circuit.on_dispatch(util::coarse_now());
  struct Release {
    Backend& b;
    ~Release() { --b.active; }
  } release{b};
  out.res = Response{};
  out.error.clear();
  h2::ResponseRelay* relay = from ? from->relay : nullptr;

  // A stream the backend refused (or a session that was closing) is sent once more on a
  // live session before it counts as a failure, as a stale keep-alive connection is.
  for (int round = 0; round < 2; ++round) {
    if (!b.h2_pool) b.h2_pool = std::make_shared<h2::ClientPool>(core_, b.endpoint);
    const std::shared_ptr<h2::ClientPool> pool = b.h2_pool;  // a reload may drop it meanwhile
    const std::shared_ptr<const tls::ClientTls> tls_context = b.tls;
    const std::shared_ptr<h2::ClientSession> session =
        pool->acquire(tls_context, b.h2_max_sessions, s.connect_timeout, s.pool_idle_timeout);
    auto st = std::make_shared<h2::ClientStream>(core_.io.get_executor());
    st->head = h2::request_header_block(req, tls_context != nullptr, te_trailers);
    st->body = req.body();
    if (from) st->request_trailers = from->trailers;

    if (session->state() == h2::ClientSession::State::connecting) {
      session->wait_ready(st);
      // the session's own connect deadline ends it first; this one is a backstop
      const auto until = Clock::now() + s.connect_timeout + std::chrono::seconds(1);
      while (session->state() == h2::ClientSession::State::connecting && co_await wait_for_change(*st, until)) {
      }
    }
    if (session->state() == h2::ClientSession::State::connecting || session->connect_failed()) {
      session->unreserve();
      out.kind = Exchange::Kind::connect_failed;
      out.error = session->connect_failed() ? session->error() : "timed out";
      co_return;
    }
    ++h2_backend_streams_;
    if (!session->submit(st)) {
      out.kind = Exchange::Kind::failed;
      out.refused = true;
      out.error = st->failure;
      continue;
    }

    // The response head, within timeouts.backend.
    const auto deadline = Clock::now() + s.backend_timeout;
    while (!st->have_head && !st->closed) {
      if (!co_await wait_for_change(*st, deadline)) {
        session->cancel(*st);
        out.kind = Exchange::Kind::timeout;
        out.error = "timed out";
        co_return;
      }
    }
    if (!st->have_head) {
      out.kind = Exchange::Kind::failed;
      out.refused = st->refused;
      out.error = st->failure.empty() ? "h2: the stream ended without a response" : st->failure;
      if (st->refused) continue;
      co_return;
    }

    const unsigned code = st->response.result_int();
    const bool may_retry = idempotent && (code == 429 || code == 502 || code == 503 || code == 504);
    if (relay && decorate && !may_retry && relay->open()) {
      // Relayed as it flows: the head now, then each piece of body, then the trailers. The
      // gap between pieces is bounded by timeouts.backend (a stream may last long).
      Response head = std::move(st->response);
      head.version(11);
      out.grpc_status = field(head, "grpc-status");  // a trailers-only answer
      decorate(head);
      relay->start(head, st->head_ended);
      out.committed = true;
      out.res = std::move(head);
      out.kind = Exchange::Kind::response;
      if (st->head_ended) co_return;
      for (;;) {
        if (!st->data.empty()) {
          if (relay->queued() + st->data.size() > s.max_response_bytes) {  // the client does not read
            session->cancel(*st);
            relay->abort();
            out.kind = Exchange::Kind::failed;
            out.error = "client too slow: over limits.max_response_bytes queued";
            co_return;
          }
          relay->data(st->data);
          st->data.clear();
        }
        if (st->closed) {
          if (st->error_code == 0 && st->failure.empty()) {
            if (const std::string g = trailer(st->trailers, "grpc-status"); !g.empty()) out.grpc_status = g;
            relay->finish(std::move(st->trailers));
          } else {
            relay->abort();
            out.kind = Exchange::Kind::failed;
            out.error = st->failure;
          }
          co_return;
        }
        if (!relay->open()) {  // the client left: the backend need not go on
          session->cancel(*st);
          co_return;
        }
        if (!co_await wait_for_change(*st, Clock::now() + s.backend_timeout)) {
          session->cancel(*st);
          relay->abort();
          out.kind = Exchange::Kind::timeout;
          out.error = "timed out";
          co_return;
        }
      }
    }

    // Buffered whole (an HTTP/1.1 client, or an answer that may be retried), as the
    // HTTP/1.1 exchange does; trailers cannot reach an HTTP/1.1 client (dropped).
    out.res = std::move(st->response);
    out.res.version(11);
    std::string& body = out.res.body();
    for (;;) {
      if (!st->data.empty()) {
        if (body.size() + st->data.size() > s.max_response_bytes) {
          session->cancel(*st);
          out.kind = Exchange::Kind::failed;
          out.error = "read: body limit exceeded";
          co_return;
        }
        body += st->data;
        st->data.clear();
      }
      if (st->closed) break;
      if (!co_await wait_for_change(*st, deadline)) {
        session->cancel(*st);
        out.kind = Exchange::Kind::timeout;
        out.error = "timed out";
        co_return;
      }
    }
    if (st->error_code != 0 || !st->failure.empty()) {
      out.kind = Exchange::Kind::failed;
      out.error = st->failure;
      co_return;
    }
    out.grpc_status = trailer(st->trailers, "grpc-status");
    if (out.grpc_status.empty()) out.grpc_status = field(out.res, "grpc-status");
    out.kind = Exchange::Kind::response;
    co_return;
  }
}

void HttpListener::h2_backend_metrics(MetricSink& m, const std::string& l) const {
  std::size_t open = 0;
  uint64_t opened = 0;
  for (const auto& b : cfg_->region->backends)
    if (b->h2_pool) {
      open += b->h2_pool->sessions();
      opened += b->h2_pool->opened();
    }
  m.add("meridian_forward_http2_backend_sessions", "gauge",
        "HTTP/2 sessions open (or connecting) to the region's backends with \"protocol\": \"h2\".", l, double(open));
  m.add("meridian_forward_http2_backend_sessions_total", "counter",
        "HTTP/2 sessions opened to the region's backends.", l, double(opened));
  m.add("meridian_forward_http2_backend_streams_total", "counter", "Requests sent as streams to HTTP/2 backends.", l,
        double(h2_backend_streams_));
  for (std::size_t i = 0; i < grpc_statuses_.size(); ++i)
    m.add("meridian_forward_grpc_responses_total", "counter",
          "gRPC responses (those carrying grpc-status) by grpc-status.",
          l + ",status=\"" + std::string(h2::grpc_status_label(i)) + "\"", double(grpc_statuses_[i]));
}

}  // namespace meridian::forward::l7
