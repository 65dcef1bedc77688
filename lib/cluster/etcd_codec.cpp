#include "cluster/etcd_codec.hpp"

#include <openssl/evp.h>

namespace meridian::cluster {

using nlohmann::json;

std::string base64_encode(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> base64_decode(const std::string& text) {
  if (text.size() % 4 != 0) return std::nullopt;
  if (text.empty()) return std::string();
  std::string out(3 * text.size() / 4, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts the padding as zero bytes.
  std::size_t size = static_cast<std::size_t>(n);
  for (std::size_t i = text.size(); i > 0 && text[i - 1] == '=' && size > 0; --i) --size;
  out.resize(size);
  return out;
}

std::string prefix_end(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last < 0xff) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every key
}

int64_t int64_field(const json& object, const char* name) {
  const auto it = object.find(name);
  if (it == object.end()) return 0;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (!it->is_string()) throw std::runtime_error(std::string("etcd reply: \"") + name + "\" is not an int64");
  const std::string text = it->get<std::string>();
  std::size_t used = 0;
  const long long v = std::stoll(text, &used);
  if (used != text.size()) throw std::runtime_error(std::string("etcd reply: \"") + name + "\" is not an int64");
  return v;
}

void throw_if_error(const json& reply) {
  if (!reply.is_object()) throw std::runtime_error("etcd reply is not a JSON object");
  const auto error = reply.find("error");
  if (error == reply.end()) return;
  // 3.4: {"error": "text", "code": 14, "message": "text"}; later: {"error": {"grpc_code", "message"}}.
  int code = 2;
  std::string message;
  if (error->is_object()) {
    code = error->value("grpc_code", 2);
    message = error->value("message", std::string("etcd error"));
  } else {
    code = reply.value("code", 2);
    message = reply.value("message", error->is_string() ? error->get<std::string>() : std::string("etcd error"));
  }
  throw EtcdError(code, message);
}

namespace {

std::string decoded(const json& object, const char* name) {
  const auto it = object.find(name);
  if (it == object.end()) return {};
  if (!it->is_string()) throw std::runtime_error(std::string("etcd reply: \"") + name + "\" is not base64 text");
  auto bytes = base64_decode(it->get<std::string>());
  if (!bytes) throw std::runtime_error(std::string("etcd reply: \"") + name + "\" is not base64 text");
  return *bytes;
}

KeyValue key_value(const json& kv) {
  return {decoded(kv, "key"), decoded(kv, "value"), int64_field(kv, "mod_revision"), int64_field(kv, "lease")};
}

int64_t header_revision(const json& reply) {
  const auto h = reply.find("header");
  return h != reply.end() && h->is_object() ? int64_field(*h, "revision") : 0;
}

}  // namespace

json range_request(const std::string& prefix) {
  return {{"key", base64_encode(prefix)}, {"range_end", base64_encode(prefix_end(prefix))}};
}

json put_request(const std::string& key, const std::string& value, int64_t lease) {
  json j{{"key", base64_encode(key)}, {"value", base64_encode(value)}};
  if (lease != 0) j["lease"] = std::to_string(lease);
  return j;
}

json delete_request(const std::string& key) { return {{"key", base64_encode(key)}}; }

json watch_create_request(const std::string& prefix, int64_t start_revision) {
  return {{"create_request",
           {{"key", base64_encode(prefix)}, {"range_end", base64_encode(prefix_end(prefix))},
            {"start_revision", std::to_string(start_revision)}, {"progress_notify", true}}}};
}

json lease_grant_request(int64_t ttl_seconds) { return {{"TTL", std::to_string(ttl_seconds)}}; }

json lease_id_request(int64_t id) { return {{"ID", std::to_string(id)}}; }

RangeReply parse_range_reply(const json& reply) {
  throw_if_error(reply);
  RangeReply out;
  out.revision = header_revision(reply);
  if (const auto kvs = reply.find("kvs"); kvs != reply.end() && kvs->is_array())
    for (const auto& kv : *kvs) out.kvs.push_back(key_value(kv));
  return out;
}

int64_t parse_lease_grant(const json& reply) {
  throw_if_error(reply);
  const int64_t id = int64_field(reply, "ID");
  if (id == 0) throw std::runtime_error("etcd granted no lease: " + reply.value("error", std::string("no ID")));
  return id;
}

int64_t parse_keepalive(const json& reply) {
  throw_if_error(reply);
  const auto result = reply.find("result");
  return int64_field(result != reply.end() && result->is_object() ? *result : reply, "TTL");
}

WatchMessage parse_watch_message(const json& message) {
  throw_if_error(message);
  const auto result = message.find("result");
  if (result == message.end() || !result->is_object()) throw std::runtime_error("watch message without a result");
  const json& r = *result;
  WatchMessage out;
  out.revision = header_revision(r);
  out.created = r.value("created", false);
  out.canceled = r.value("canceled", false);
  out.compact_revision = int64_field(r, "compact_revision");
  out.cancel_reason = r.value("cancel_reason", std::string());
  if (const auto events = r.find("events"); events != r.end() && events->is_array())
    for (const auto& e : *events) {
      const auto kv = e.find("kv");
      if (kv == e.end() || !kv->is_object()) continue;
      out.events.push_back({e.value("type", std::string("PUT")) == "DELETE", key_value(*kv)});
    }
  return out;
}

}  // namespace meridian::cluster
