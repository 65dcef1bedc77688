// Request framing checks run on every parsed request header before any byte goes to a
// backend: anything a front end and a back end could read differently is refused
// with 400 (request smuggling). Beast already refuses conflicting Content-Length
// values, Transfer-Encoding after chunked, and malformed chunks; these checks add the
// cases it lets through.
#pragma once
#include <chrono>
#include <string>
#include <string_view>
#include <optional>
#include <cstdint>

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "forward/l7/pool_alloc.hpp"

namespace meridian::forward::l7 {

// The fields of the proxy's own messages (pooled, see pool_alloc.hpp). The functions
// below take them or Beast's default fields (instantiated for both).
using Fields = boost::beast::http::basic_fields<PoolAllocator<char>>;

// Calls tok(t) for each token of a comma-separated field value (Connection, Upgrade...),
// spaces and tabs around it trimmed, empty ones skipped; stops early when tok returns true.
// True when tok did.
template <class Tok>
bool for_each_token(std::string_view value, Tok tok) {
  std::size_t start = 0;
  while (start <= value.size()) {
    std::size_t end = value.find(',', start);
    if (end == std::string_view::npos) end = value.size();
    std::string_view t = value.substr(start, end - start);
    while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
    while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
    if (!t.empty() && tok(t)) return true;
    start = end + 1;
  }
  return false;
}

// Empty when the framing is unambiguous, else why it is not.
template <class F>
std::string check_request_framing(const boost::beast::http::request_header<F>& h);

// Methods that may be sent twice: GET, HEAD, OPTIONS, PUT, DELETE, TRACE; or any
// request carrying Idempotency-Key.
template <class F>
bool is_idempotent(const boost::beast::http::request_header<F>& h);

// Retry-After as delta-seconds; -1 when absent or not a plain number.
long parse_retry_after(std::string_view value);

// An HTTP-date (RFC 9110 5.6.7): the preferred IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT")
// and, as recipients must accept them, the obsolete RFC 850 ("Sunday, 06-Nov-94 08:49:37 GMT";
// a two-digit year more than 50 years ahead of `now` is taken in the past century) and
// asctime ("Sun Nov  6 08:49:37 1994") forms. Seconds since the Unix epoch, or nullopt when
// the text is none of them (or names an impossible date).
std::optional<int64_t> parse_http_date(std::string_view value, std::chrono::system_clock::time_point now);

// How long a Retry-After asks to wait, in milliseconds: delta-seconds, or an HTTP-date
// minus `now` (a date in the past: 0). -1 when absent or unusable (then it is ignored).
int64_t retry_after_ms(std::string_view value, std::chrono::system_clock::time_point now);

// Feeds raw bytes to a request parser (header and body) and applies the checks above:
// 0 when the request is acceptable, else the status a proxy answers (400, 413, 431).
// Used by the unit tests to exercise the same rules as the listener.
int classify_raw_request(std::string_view raw, std::size_t max_header = 16384, std::size_t max_body = 1 << 20);

// A request as the tier forwards it: HTTP/1.1, framed by Content-Length (a chunked body
// arrived whole), with a Host (empty when an HTTP/1.0 client sent none).
template <class F>
void as_http11(boost::beast::http::request<boost::beast::http::string_body, F>& m);

// Appends the message as HTTP/1.x bytes (start line, fields as they are, blank line,
// body): what Beast's serializer writes for a message with a Content-Length body, without
// its buffer-sequence machinery, into a buffer the caller reuses.
template <class F>
void serialize(std::string& out, const boost::beast::http::request<boost::beast::http::string_body, F>& m);
template <class F>
void serialize(std::string& out, const boost::beast::http::response<boost::beast::http::string_body, F>& m);

}  // namespace meridian::forward::l7
