// One attempt of a request toward an HTTP/2 backend ("protocol": "h2"): a stream on one of
// the backend's pooled sessions (l7/h2/client_pool.*). forward() in http_listener.cpp
// drives it exactly as it drives the HTTP/1.1 exchange (pick, retries, budget, breaker,
// outlier detection); what differs is here: the stream, its timeouts, a request body
// streamed as it arrives (h2/request_body.hpp), and relaying the answer to an HTTP/2 client
// as it arrives, with flow control as the back-pressure both ways.
#include <chrono>
#include <utility>  // before asio/awaitable.hpp (Boost 1.74 forgets it)

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "forward/l7/h2/client_pool.hpp"
#include "forward/l7/http_listener.hpp"
#include "util/coarse_clock.hpp"

namespace meridian::forward::l7 {

namespace asio = boost::asio;
namespace http = boost::beast::http;
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

// Body bytes of a relayed response queued toward the client beyond which the backend's
// stream is no longer read (its window stays closed until the client takes some).
constexpr std::size_t kRelayQueueBound = 256u << 10;

// An attempt's hooks into the streamed request body and the relay: set for the attempt, cleared after it.
struct AttemptHooks {
  h2::RequestBody* body = nullptr;
  h2::ResponseRelay* relay = nullptr;
  ~AttemptHooks() {
    if (body) body->wake = nullptr;
    if (relay) relay->on_drain = nullptr;
  }
};

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
  const std::shared_ptr<h2::RequestBody> streamed = from ? from->body : nullptr;
  // The request is not served: the client reset its stream before its body ended, or the
  // body went over limits.max_body_bytes (serve_stream answers 413). Not the backend's fault.
  const auto request_failed = [&](h2::ClientSession& session, h2::ClientStream& st) {
    if (!streamed || !(streamed->abandoned() || streamed->too_large)) return false;
    session.cancel(st);
    if (relay && relay->started()) relay->abort();
    out.kind = Exchange::Kind::response;
    out.res = Response(streamed->too_large ? http::status::payload_too_large : http::status::bad_request, 11);
    out.error = streamed->too_large ? "request body over limits.max_body_bytes" : "the client reset its stream";
    return true;
  };

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
    AttemptHooks hooks;
    if (streamed) {
      // the body follows as it arrives: its length is not known (as_http11 said 0)
      std::erase_if(st->head, [](const auto& f) { return f.first == "content-length"; });
      st->streamed = streamed;
      st->body_taken = [](h2::RequestBody& body, std::size_t up_to) {
        if (!body.finished && body.connection) body.connection->body_taken(body, up_to);
      };
      hooks.body = streamed.get();
      streamed->wake = [session, weak = std::weak_ptr<h2::ClientStream>(st)] {
        if (const auto s = weak.lock()) {
          session->resume_body(*s);
          s->notify();
        }
      };
    } else {
      st->body = req.body();
      if (from) st->request_trailers = from->trailers;
    }

    if (session->state() == h2::ClientSession::State::connecting) {
      session->wait_ready(st);
      // the session's own connect deadline ends it first; this one is a backstop
      const auto until = Clock::now() + s.connect_timeout + std::chrono::seconds(1);
      while (session->state() == h2::ClientSession::State::connecting && co_await wait_for_change(*st, until)) {
      }
    }
    if (const auto handshake = session->take_handshake()) {
      if (!handshake->ok) ++b.counters.tls_handshake_failures;  // also a connect failure, below
      else ++b.counters.tls_handshakes;
      if (handshake->resumed) ++b.counters.tls_resumed;
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

    // The response head, within timeouts.backend of the request's end. While a streamed
    // body still arrives the backend is not late: a gRPC server may rightly wait for the
    // client's messages (client streaming, bidirectional) before its head. The client must
    // keep sending meanwhile: nothing from it for timeouts.request ends the call with 408.
    bool waiting_on_client = streamed && !streamed->ended;
    std::size_t body_seen = streamed ? streamed->received : 0;
    auto deadline = Clock::now() + (waiting_on_client ? s.request_timeout : s.backend_timeout);
    while (!st->have_head && !st->closed) {
      if (request_failed(*session, *st)) co_return;
      if (!co_await wait_for_change(*st, deadline)) {
        session->cancel(*st);
        if (waiting_on_client) {
          out.kind = Exchange::Kind::response;
          out.res = Response(http::status::request_timeout, 11);
          out.error = "the client sent nothing for timeouts.request";
          co_return;
        }
        out.kind = Exchange::Kind::timeout;
        out.error = "timed out";
        co_return;
      }
      if (waiting_on_client && streamed->ended) {
        waiting_on_client = false;
        deadline = Clock::now() + s.backend_timeout;
      } else if (waiting_on_client && streamed->received != body_seen) {
        body_seen = streamed->received;
        deadline = Clock::now() + s.request_timeout;
      }
    }
    if (!st->have_head) {
      out.kind = Exchange::Kind::failed;
      out.refused = st->refused;
      out.error = st->failure.empty() ? "h2: the stream ended without a response" : st->failure;
      // sent once more when the backend did not process it, and the body is still whole here
      if (st->refused && (!streamed || streamed->replayable())) continue;
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
      if (st->head_ended) {
        if (!st->closed) session->cancel(*st);  // the client's body may still come: not needed
        co_return;
      }
      hooks.relay = relay;
      relay->on_drain = [weak = std::weak_ptr<h2::ClientStream>(st)] {
        if (const auto s = weak.lock()) s->notify();
      };
      bool was_blocked = false;
      for (;;) {
        if (request_failed(*session, *st)) {
          out.kind = Exchange::Kind::response;
          co_return;
        }
        // The client's flow control is the limit: past kRelayQueueBound queued toward it,
        // the backend's DATA stays unconsumed and its window closes.
        if (!st->data.empty() && relay->queued() < kRelayQueueBound) {
          const std::size_t n = st->data.size();
          relay->data(st->data);
          st->data.clear();
          session->consume(*st, n);
        }
        h2_relay_queued_peak_ = std::max(h2_relay_queued_peak_, relay->queued() + st->data.size());
        const bool blocked = !st->data.empty();  // on the client
        // The backend's END_STREAM ends the answer even when the client's body has not
        // ended (a gRPC server may finish first): the rest of it is dropped (Session::answer).
        if ((st->closed || st->ended) && !blocked) {
          if (st->error_code == 0 && st->failure.empty()) {
            if (const std::string g = trailer(st->trailers, "grpc-status"); !g.empty()) out.grpc_status = g;
            relay->finish(std::move(st->trailers));
            if (!st->closed) session->cancel(*st);
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
        if (blocked && !was_blocked) ++h2_relay_pauses_;
        was_blocked = blocked;
        if (blocked) {
          // the client reads nothing for timeouts.request: both streams are reset
          if (!co_await wait_for_change(*st, Clock::now() + s.request_timeout)) {
            session->cancel(*st);
            relay->abort();
            out.error = "client too slow: nothing read for timeouts.request";
            co_return;
          }
          continue;
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
        session->consume(*st, st->data.size());
        st->data.clear();
      }
      if (st->closed || st->ended) break;
      if (request_failed(*session, *st)) co_return;
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
    if (!st->closed) session->cancel(*st);  // answered before the streamed body ended
    out.grpc_status = trailer(st->trailers, "grpc-status");
    if (out.grpc_status.empty()) out.grpc_status = field(out.res, "grpc-status");
    out.kind = Exchange::Kind::response;
    co_return;
  }
}

awaitable<bool> HttpListener::gather_body(h2::RequestBody& b, Request& req, Ms timeout) {
  if (!b.replayable()) co_return false;
  asio::steady_timer wake(core_.io, Clock::time_point::max());
  b.wake = [&wake] { wake.cancel(); };
  struct Unhook {
    h2::RequestBody& b;
    ~Unhook() { b.wake = nullptr; }
  } unhook{b};
  std::string& into = req.body();
  into.clear();
  const auto until = Clock::now() + timeout;
  for (;;) {
    if (b.too_large || b.abandoned() || b.finished) co_return false;
    into.append(b.data, into.size() - b.base);  // everything so far, then its window reopens
    if (b.connection) b.connection->body_taken(b, b.end());
    if (b.ended) break;
    if (Clock::now() >= until) co_return false;
    wake.expires_at(until);
    boost::system::error_code ec;
    co_await wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  req.prepare_payload();
  co_return true;
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
  m.add("meridian_forward_http2_relay_queued_peak_bytes", "gauge",
        "Most body bytes of one relayed HTTP/2 backend response held in the proxy at once (toward a slow client).", l,
        double(h2_relay_queued_peak_));
  m.add("meridian_forward_http2_relay_pauses_total", "counter",
        "Times a relayed HTTP/2 backend response stopped reading the backend because the client was behind.", l,
        double(h2_relay_pauses_));
  for (std::size_t i = 0; i < grpc_statuses_.size(); ++i)
    m.add("meridian_forward_grpc_responses_total", "counter",
          "gRPC responses (those carrying grpc-status) by grpc-status.",
          l + ",status=\"" + std::string(h2::grpc_status_label(i)) + "\"", double(grpc_statuses_[i]));
}

}  // namespace meridian::forward::l7
