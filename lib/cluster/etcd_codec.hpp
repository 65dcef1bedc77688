// etcd v3's JSON gateway (grpc-gateway, etcd 3.4: /v3/kv/range, /v3/watch, ...)
// as plain values: keys and values travel as base64, int64 fields as decimal
// strings, fields at their default value are left out. Building the request
// bodies and reading the replies here keeps the transport (etcd_client) free of
// format details, and testable without an etcd.
#pragma once
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace meridian::cluster {

std::string base64_encode(const std::string& bytes);
// nullopt for text that is not base64.
std::optional<std::string> base64_decode(const std::string& text);

// The range_end that selects every key starting with prefix (etcd's "prefix" rule:
// the prefix with its last byte plus one).
std::string prefix_end(const std::string& prefix);

// An int64 field: a decimal string (or a number); 0 when absent.
int64_t int64_field(const nlohmann::json& object, const char* name);

// etcd said no (the gateway's {"error", "code", "message"}): code is the gRPC status.
struct EtcdError : std::runtime_error {
  EtcdError(int code, const std::string& message) : std::runtime_error(message), code(code) {}
  int code;
  // Worth asking another member: the member is unavailable, has no leader, timed out.
  bool member_problem() const { return code == 2 || code == 4 || code == 14 || code == 8 || code == 13; }
};
// Throws EtcdError when reply is the gateway's error object.
void throw_if_error(const nlohmann::json& reply);

struct KeyValue {
  std::string key;
  std::string value;
  int64_t mod_revision = 0;
  int64_t lease = 0;
};

struct RangeReply {
  int64_t revision = 0;  // the store's revision the read saw: watch from revision + 1
  std::vector<KeyValue> kvs;
};

struct WatchEvent {
  bool deleted = false;  // DELETE; else PUT
  KeyValue kv;
};

// One message of a watch stream ({"result": {...}}).
struct WatchMessage {
  int64_t revision = 0;
  bool created = false;
  bool canceled = false;
  int64_t compact_revision = 0;  // non-zero: the revision asked for was compacted
  std::string cancel_reason;
  std::vector<WatchEvent> events;
  bool must_resync() const { return canceled || compact_revision != 0; }
};

nlohmann::json range_request(const std::string& prefix);
nlohmann::json put_request(const std::string& key, const std::string& value, int64_t lease);
nlohmann::json delete_request(const std::string& key);
nlohmann::json watch_create_request(const std::string& prefix, int64_t start_revision);
nlohmann::json lease_grant_request(int64_t ttl_seconds);
nlohmann::json lease_id_request(int64_t id);  // keepalive and revoke

RangeReply parse_range_reply(const nlohmann::json& reply);
// The lease's ID from a grant reply (throws when there is none).
int64_t parse_lease_grant(const nlohmann::json& reply);
// The TTL left from a keepalive reply: 0 when the lease is gone.
int64_t parse_keepalive(const nlohmann::json& reply);
WatchMessage parse_watch_message(const nlohmann::json& message);

}  // namespace meridian::cluster
