#include "forward/l7/h2/header_translation.hpp"

#include <nghttp2/nghttp2.h>

#include <iterator>

#include <boost/beast/core/string.hpp>

namespace meridian::forward::l7::h2 {

namespace http = boost::beast::http;

namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; }

std::string lowered(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lower(c);
  return out;
}

std::string_view sv(boost::beast::string_view v) { return {v.data(), v.size()}; }

}  // namespace

bool dropped_field(std::string_view n) {
  const http::field f = http::string_to_field(boost::beast::string_view(n.data(), n.size()));
  return f == http::field::host || connection_specific(f);
}

HeaderList request_header_block(const Request& req, bool tls, bool te_trailers) {
  HeaderList out;
  out.reserve(8 + static_cast<std::size_t>(std::distance(req.begin(), req.end())));
  out.emplace_back(":method", std::string(sv(req.method_string())));
  out.emplace_back(":scheme", tls ? "https" : "http");
  out.emplace_back(":authority", std::string(sv(req[http::field::host])));
  out.emplace_back(":path", std::string(sv(req.target())));
  for (const auto& f : req) {
    if (f.name() == http::field::host || connection_specific(f.name()) || f.name_string().empty()) continue;
    out.emplace_back(lowered(sv(f.name_string())), std::string(sv(f.value())));
  }
  if (te_trailers) out.emplace_back("te", "trailers");
  return out;
}

bool is_grpc(const Request& req) {
  return boost::beast::iequals(req[http::field::content_type].substr(0, 16), "application/grpc");
}

uint8_t hpack_flags(std::string_view lower_name) {
  return lower_name == "x-request-id" ? NGHTTP2_NV_FLAG_NO_INDEX : NGHTTP2_NV_FLAG_NONE;
}

bool wants_trailers(const Request& req) {
  for (auto it = req.find(http::field::te); it != req.end() && it->name() == http::field::te; ++it) {
    const std::string v = lowered(sv(it->value()));
    for (std::size_t at = v.find("trailers"); at != std::string::npos; at = v.find("trailers", at + 1)) {
      const bool starts = at == 0 || v[at - 1] == ',' || v[at - 1] == ' ' || v[at - 1] == '\t';
      const std::size_t end = at + 8;
      const bool ends = end == v.size() || v[end] == ',' || v[end] == ' ' || v[end] == '\t' || v[end] == ';';
      if (starts && ends) return true;
    }
  }
  return false;
}

bool add_response_field(Response& res, std::string_view name, std::string_view value) {
  if (name == ":status") {
    if (value.size() != 3) return false;
    unsigned code = 0;
    for (const char c : value) {
      if (c < '0' || c > '9') return false;
      code = code * 10 + unsigned(c - '0');
    }
    if (code < 100) return false;
    res.result(code);
    return true;
  }
  if (name.empty() || name[0] == ':' || dropped_field(name)) return true;
  res.insert(boost::beast::string_view(name.data(), name.size()), boost::beast::string_view(value.data(), value.size()));
  return true;
}

std::string_view lower_field_name(http::field f) {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v(static_cast<std::size_t>(http::field::xref) + 1);
    for (std::size_t i = 1; i < v.size(); ++i) v[i] = lowered(sv(http::to_string(static_cast<http::field>(i))));
    return v;
  }();
  const auto i = static_cast<std::size_t>(f);
  return i < names.size() ? std::string_view(names[i]) : std::string_view();
}

bool connection_specific(http::field f) {
  switch (f) {
    case http::field::connection:
    case http::field::keep_alive:
    case http::field::proxy_connection:
    case http::field::transfer_encoding:
    case http::field::upgrade:
    case http::field::te: return true;
    default: return false;
  }
}

bool valid_trailer(std::string_view name) { return !name.empty() && name[0] != ':' && !dropped_field(name); }

std::size_t grpc_status_index(std::string_view value) {
  if (value.empty() || value.size() > 2) return kGrpcOther;
  std::size_t n = 0;
  for (const char c : value) {
    if (c < '0' || c > '9') return kGrpcOther;
    n = n * 10 + std::size_t(c - '0');
  }
  if (value.size() == 2 && value[0] == '0') return kGrpcOther;
  return n <= 16 ? n : kGrpcOther;
}

std::string_view grpc_status_label(std::size_t index) {
  static const char* const labels[] = {"0", "1", "2",  "3",  "4",  "5",  "6",  "7",  "8",
                                       "9", "10", "11", "12", "13", "14", "15", "16", "other"};
  return labels[index <= kGrpcOther ? index : kGrpcOther];
}

}  // namespace meridian::forward::l7::h2
