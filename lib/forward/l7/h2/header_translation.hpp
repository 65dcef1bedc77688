// HTTP/1.1-shaped messages (what the listener's steps work on) to and from HTTP/2 header
// blocks toward a backend: pure functions, no nghttp2 session, unit-tested.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "forward/l7/framing.hpp"

namespace meridian::forward::l7::h2 {

using Request = boost::beast::http::request<boost::beast::http::string_body, Fields>;
using Response = boost::beast::http::response<boost::beast::http::string_body, Fields>;
// Header fields in HTTP/2 form (lower-case names), in order: a request's block, trailers.
using HeaderList = std::vector<std::pair<std::string, std::string>>;

// Fields HTTP/2 forbids (RFC 9113 8.2.2), and Host (:authority carries it); `lower_name` in lower case.
bool dropped_field(std::string_view lower_name);

// The request's header block toward an h2 backend: :method, :scheme ("https" when the
// backend has TLS), :authority (the Host), :path (the target), then the other fields in
// lower case without Host and the connection-specific ones; with te_trailers, "te:
// trailers" (the one TE HTTP/2 allows, which gRPC servers ask for). The request has been
// through rewrite_request_for_backend (X-Forwarded-* set, hop-by-hop fields gone).
HeaderList request_header_block(const Request& req, bool tls, bool te_trailers);

// A gRPC request: content-type application/grpc (also +proto, +json...).
bool is_grpc(const Request& req);

// Whether a request asked for trailers ("TE: trailers", among other codings or not):
// read before the hop-by-hop fields are removed.
bool wants_trailers(const Request& req);

// One field of a backend's response head: ":status" sets the status (false when it is not
// three digits), other pseudo-fields and the connection-specific ones are dropped, the
// rest added to res.
bool add_response_field(Response& res, std::string_view name, std::string_view value);

// How a field goes into HPACK (an nghttp2_nv flag). X-Request-ID differs in every message:
// indexed, each one would push a useful entry out of the peer's dynamic table, and nghttp2
// would compare every new one with all those of that name still in it (one bucket, a
// memcmp each). Sent as a literal never indexed instead: the same field for the peer.
uint8_t hpack_flags(std::string_view lower_name);

// The lower-case name of a field Beast knows ("content-type" for field::content_type),
// from a table built once: a static string nghttp2 may keep without copying. Empty for
// field::unknown (Beast gives every name it knows its enum, so an unknown field is none
// of these).
std::string_view lower_field_name(boost::beast::http::field f);

// A field HTTP/2 forbids (RFC 9113 8.2.2): Connection, Keep-Alive, Proxy-Connection,
// Transfer-Encoding, Upgrade, TE. All are fields Beast knows.
bool connection_specific(boost::beast::http::field f);

// A trailer field worth passing on (not a pseudo-field nor a connection-specific one).
bool valid_trailer(std::string_view name);

// gRPC status codes 0-16 (OK .. UNAUTHENTICATED); kGrpcOther for anything else.
inline constexpr std::size_t kGrpcOther = 17;
std::size_t grpc_status_index(std::string_view value);
// "0".."16", or "other".
std::string_view grpc_status_label(std::size_t index);

}  // namespace meridian::forward::l7::h2
