#include "forward/l7/framing.hpp"

#include <algorithm>
#include <cctype>

#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

namespace meridian::forward::l7 {

namespace http = boost::beast::http;

namespace {

std::string trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return std::string(v);
}

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

}  // namespace

template <class F>
std::string check_request_framing(const http::request_header<F>& h) {
  std::size_t cl = 0, te = 0, host = 0;
  std::string te_value;
  for (const auto& f : h) {
    const std::string_view value(f.value().data(), f.value().size());
    for (const char c : value)
      if (c == '\r' || c == '\n' || c == '\0') return "control character in a header value";
    switch (f.name()) {
      case http::field::content_length: {
        ++cl;
        const std::string v = trim(value);
        if (v.empty() || v.size() > 18) return "malformed Content-Length";
        for (const char c : v)
          if (c < '0' || c > '9') return "malformed Content-Length";
        break;
      }
      case http::field::transfer_encoding:
        ++te;
        te_value = trim(value);
        break;
      case http::field::host: ++host; break;
      default: {
        const std::string_view name(f.name_string().data(), f.name_string().size());
        if (name.empty()) return "empty header name";
        break;
      }
    }
  }
  if (cl > 1) return "more than one Content-Length";
  if (cl && te) return "both Content-Length and Transfer-Encoding";
  if (te > 1) return "more than one Transfer-Encoding";
  if (te && h.version() < 11) return "Transfer-Encoding in an HTTP/1.0 request";
  if (te && !iequal(te_value, "chunked")) return "unsupported Transfer-Encoding \"" + te_value + "\"";
  if (host > 1) return "more than one Host";
  if (h.version() >= 11 && host == 0) return "HTTP/1.1 request without Host";
  const auto target = h.target();
  if (target.empty()) return "empty request target";
  if (target[0] != '/' && !(target == "*" && h.method() == http::verb::options))
    return "request target must be in origin form";
  for (const char c : target)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return "control character in the request target";
  if (h.method() == http::verb::connect) return "CONNECT is not supported";
  if (h.method() == http::verb::unknown) return "unknown method";
  return {};
}

template <class F>
bool is_idempotent(const http::request_header<F>& h) {
  switch (h.method()) {
    case http::verb::get:
    case http::verb::head:
    case http::verb::options:
    case http::verb::put:
    case http::verb::delete_:
    case http::verb::trace: return true;
    default: return h.find("Idempotency-Key") != h.end();
  }
}

long parse_retry_after(std::string_view v) {
  const std::string t = trim(v);
  if (t.empty() || t.size() > 9) return -1;
  long n = 0;
  for (const char c : t) {
    if (c < '0' || c > '9') return -1;
    n = n * 10 + (c - '0');
  }
  return n;
}

namespace {

// Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (H. Hinnant's algorithm).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

unsigned days_in_month(int64_t y, unsigned m) {
  static const unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : days[m - 1];
}

// A cursor over the date text; every step consumes exactly what the grammar says.
struct DateScan {
  std::string_view s;
  bool lit(std::string_view t) {
    if (s.substr(0, t.size()) != t) return false;
    s.remove_prefix(t.size());
    return true;
  }
  bool digits(std::size_t n, int& out) {
    if (s.size() < n) return false;
    out = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      out = out * 10 + (s[i] - '0');
    }
    s.remove_prefix(n);
    return true;
  }
  // One of names (case-sensitive, as the grammar's literals are); index + 1, or 0.
  template <std::size_t N>
  unsigned one_of(const std::string_view (&names)[N]) {
    for (std::size_t i = 0; i < N; ++i)
      if (lit(names[i])) return static_cast<unsigned>(i + 1);
    return 0;
  }
  // hour ":" minute ":" second
  bool time(int& h, int& mi, int& se) {
    return digits(2, h) && lit(":") && digits(2, mi) && lit(":") && digits(2, se) && h <= 23 && mi <= 59 && se <= 60;
  }
};

const std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
const std::string_view kDays[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
// Longest first where one is a prefix of another: none here share a prefix.
const std::string_view kLongDays[] = {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};

}  // namespace

std::optional<int64_t> parse_http_date(std::string_view v, std::chrono::system_clock::time_point now) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  int year = 0, day = 0, h = 0, mi = 0, se = 0;
  unsigned month = 0;
  bool ok = false;
  DateScan a{v};
  if (a.one_of(kLongDays) && a.lit(", ")) {
    // rfc850-date: day-name-l "," SP 2DIGIT "-" month "-" 2DIGIT SP time-of-day SP GMT
    int yy = 0;
    ok = a.digits(2, day) && a.lit("-") && (month = a.one_of(kMonths)) != 0 && a.lit("-") && a.digits(2, yy) &&
         a.lit(" ") && a.time(h, mi, se) && a.lit(" GMT") && a.s.empty();
    if (ok) {
      // RFC 9110 5.6.7: more than 50 years in the future means the most recent past year
      // with those last two digits.
      const auto today = std::chrono::floor<std::chrono::days>(now);
      const int this_year = static_cast<int>(std::chrono::year_month_day(today).year());
      year = this_year / 100 * 100 + yy;
      if (year > this_year + 50) year -= 100;
    }
  } else {
    DateScan b{v};
    if (b.one_of(kDays)) {
      if (b.lit(", ")) {
        // IMF-fixdate: day-name "," SP 2DIGIT SP month SP 4DIGIT SP time-of-day SP GMT
        ok = b.digits(2, day) && b.lit(" ") && (month = b.one_of(kMonths)) != 0 && b.lit(" ") && b.digits(4, year) &&
             b.lit(" ") && b.time(h, mi, se) && b.lit(" GMT") && b.s.empty();
      } else if (b.lit(" ")) {
        // asctime-date: day-name SP month SP ( 2DIGIT / ( SP DIGIT )) SP time-of-day SP 4DIGIT
        ok = (month = b.one_of(kMonths)) != 0 && b.lit(" ") &&
             (b.lit(" ") ? b.digits(1, day) : b.digits(2, day)) && b.lit(" ") && b.time(h, mi, se) && b.lit(" ") &&
             b.digits(4, year) && b.s.empty();
      }
    }
  }
  if (!ok || day < 1 || static_cast<unsigned>(day) > days_in_month(year, month)) return std::nullopt;
  if (se == 60) se = 59;  // a leap second names the last second of that minute
  return days_from_civil(year, month, static_cast<unsigned>(day)) * 86400 + h * 3600 + mi * 60 + se;
}

int64_t retry_after_ms(std::string_view value, std::chrono::system_clock::time_point now) {
  if (const long seconds = parse_retry_after(value); seconds >= 0) return int64_t{seconds} * 1000;
  const std::optional<int64_t> at = parse_http_date(value, now);
  if (!at) return -1;
  const int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  return std::max<int64_t>(0, *at * 1000 - now_ms);
}

int classify_raw_request(std::string_view raw, std::size_t max_header, std::size_t max_body) {
  http::request_parser<http::string_body> p;
  p.header_limit(static_cast<std::uint32_t>(max_header));
  p.body_limit(max_body);
  p.eager(true);
  boost::system::error_code ec;
  std::size_t used = 0;
  while (used < raw.size() && !p.is_header_done()) {
    const std::size_t n = p.put(boost::asio::buffer(raw.data() + used, raw.size() - used), ec);
    if (ec == http::error::need_more) {
      if (n == 0) return 400;  // the whole input is not a header
      ec = {};
    }
    if (ec) return ec == http::error::header_limit ? 431 : ec == http::error::body_limit ? 413 : 400;
    used += n;
    if (n == 0) break;
  }
  if (!p.is_header_done()) return 400;
  if (!check_request_framing(p.get().base()).empty()) return 400;
  while (!p.is_done() && used < raw.size()) {
    const std::size_t n = p.put(boost::asio::buffer(raw.data() + used, raw.size() - used), ec);
    if (ec == http::error::need_more) ec = {};
    if (ec) return ec == http::error::body_limit ? 413 : 400;
    if (n == 0) break;
    used += n;
  }
  if (!p.is_done()) return 400;  // truncated body
  return 0;
}

namespace {

template <bool isRequest, class F>
void append_fields_and_body(std::string& out, const http::message<isRequest, http::string_body, F>& m) {
  for (const auto& f : m) {
    out.append(f.name_string().data(), f.name_string().size());
    out += ": ";
    out.append(f.value().data(), f.value().size());
    out += "\r\n";
  }
  out += "\r\n";
  out += m.body();
}

void append_version(std::string& out, unsigned version) {
  out += "HTTP/";
  out += static_cast<char>('0' + version / 10);
  out += '.';
  out += static_cast<char>('0' + version % 10);
}

}  // namespace

template <class F>
void serialize(std::string& out, const http::request<http::string_body, F>& m) {
  const auto method = m.method_string();
  const auto target = m.target();
  out.append(method.data(), method.size());
  out += ' ';
  out.append(target.data(), target.size());
  out += ' ';
  append_version(out, m.version());
  out += "\r\n";
  append_fields_and_body(out, m);
}

template <class F>
void serialize(std::string& out, const http::response<http::string_body, F>& m) {
  append_version(out, m.version());
  const unsigned code = m.result_int();
  out += ' ';
  out += static_cast<char>('0' + code / 100 % 10);
  out += static_cast<char>('0' + code / 10 % 10);
  out += static_cast<char>('0' + code % 10);
  out += ' ';
  const auto reason = m.reason();
  if (!reason.empty()) {
    out.append(reason.data(), reason.size());
  } else {
    const auto r = http::obsolete_reason(static_cast<http::status>(code));
    out.append(r.data(), r.size());
  }
  out += "\r\n";
  append_fields_and_body(out, m);
}

template <class F>
void as_http11(http::request<http::string_body, F>& m) {
  // RFC 9112 3.2: an HTTP/1.1 request without a Host is refused (400); a client whose
  // target has no authority sends it empty. An HTTP/1.0 request may have none.
  if (m.find(http::field::host) == m.end()) m.set(http::field::host, "");
  m.version(11);
  m.prepare_payload();
}

template std::string check_request_framing(const http::request_header<http::fields>&);
template std::string check_request_framing(const http::request_header<Fields>&);
template bool is_idempotent(const http::request_header<http::fields>&);
template bool is_idempotent(const http::request_header<Fields>&);
template void as_http11(http::request<http::string_body, http::fields>&);
template void as_http11(http::request<http::string_body, Fields>&);
template void serialize(std::string&, const http::request<http::string_body, http::fields>&);
template void serialize(std::string&, const http::request<http::string_body, Fields>&);
template void serialize(std::string&, const http::response<http::string_body, http::fields>&);
template void serialize(std::string&, const http::response<http::string_body, Fields>&);

}  // namespace meridian::forward::l7
