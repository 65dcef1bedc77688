// RRL applied to one UDP response as the responder wrote it: its category and key
// read from its header and question, and the slipped form made from it in place.
#include <cstring>
#include <string>

#include "dns/name.hpp"
#include "rrl/rrl.hpp"
#include "util/log.hpp"

namespace meridian::rrl {

namespace {

constexpr std::size_t kHeader = 12;
constexpr uint16_t kTypeOpt = 41;
constexpr uint16_t kOptionCookie = 10;
constexpr uint16_t kFlagTc = 0x0200;
constexpr uint16_t kRcodeBadcookie = 23;

uint16_t u16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
void put_u16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

// Past the name at `at` (compressed or not); 0 when it runs off the message.
std::size_t skip_name(const uint8_t* m, std::size_t length, std::size_t at) {
  while (at < length) {
    const uint8_t c = m[at];
    if (c == 0) return at + 1;
    if ((c & 0xC0) == 0xC0) return at + 2 <= length ? at + 2 : 0;
    if (c & 0xC0) return 0;
    at += 1u + c;
  }
  return 0;
}

// The length of the question's name (uncompressed: the question is echoed as
// received); 0 when there is none or it does not parse.
std::size_t qname_length(const uint8_t* m, std::size_t length) {
  if (length < kHeader || u16(m + 4) == 0) return 0;
  std::size_t at = kHeader;
  while (at < length) {
    const uint8_t c = m[at];
    if (c > 63) return 0;
    at += 1u + c;
    if (c == 0) return at - kHeader <= dns::kMaxNameLength ? at - kHeader : 0;
  }
  return 0;
}

const char* category_name(Category c) {
  switch (c) {
    case Category::answer: return "answer";
    case Category::nodata: return "nodata";
    case Category::nxdomain: return "nxdomain";
    case Category::error: return "error";
  }
  return "";
}

const char* action_name(Action a) {
  switch (a) {
    case Action::drop: return "drop";
    case Action::slip: return "slip";
    case Action::log_only: return "log_only";
    case Action::send: break;
  }
  return "send";
}

// The client prefix as "192.0.2.0/24".
std::string prefix_text(const Policy& policy, const util::IpAddress& client) {
  util::IpAddress masked = client;
  const unsigned prefix = client.family == 4 ? policy.ipv4_prefix : policy.ipv6_prefix;
  for (unsigned i = 0; i < 16; ++i) {
    const unsigned bits = prefix > i * 8 ? prefix - i * 8 : 0;
    masked.address[i] &= bits >= 8 ? 0xFF : static_cast<uint8_t>(0xFF00 >> bits);
  }
  return masked.to_string() + "/" + std::to_string(prefix);
}

[[gnu::noinline, gnu::cold]] void log_limited(const Policy& policy, const util::IpAddress& client,
                                              const ResponseKey& key, Action action, uint64_t suppressed) {
  util::log(util::LogLevel::warn, "rrl_limit",
            {{"client", prefix_text(policy, client)},
             {"category", category_name(key.category)},
             {"name", key.name.empty() ? "" : dns::name_to_text(key.name)},
             {"qtype", std::to_string(key.qtype)},
             {"action", action_name(action)},
             {"log_only", policy.log_only ? "true" : "false"},
             {"suppressed", std::to_string(suppressed)}});
}

}  // namespace

std::size_t slip_response(uint8_t* m, std::size_t length, bool badcookie, bool* was_badcookie) {
  if (was_badcookie) *was_badcookie = false;
  if (length < kHeader) return 0;
  const unsigned questions = u16(m + 4);
  const unsigned answers = u16(m + 6), authority = u16(m + 8), additional = u16(m + 10);
  std::size_t at = kHeader;
  for (unsigned i = 0; i < questions; ++i) {
    at = skip_name(m, length, at);
    if (at == 0 || at + 4 > length) return 0;
    at += 4;
  }
  const std::size_t question_end = at;
  std::size_t opt_at = 0, opt_length = 0;
  for (unsigned i = 0; i < answers + authority + additional; ++i) {
    const std::size_t start = at;
    at = skip_name(m, length, at);
    if (at == 0 || at + 10 > length) return 0;
    const uint16_t type = u16(m + at);
    at += 10u + u16(m + at + 8);
    if (at > length) return 0;
    if (i >= answers + authority && type == kTypeOpt && m[start] == 0) {
      opt_at = start;
      opt_length = at - start;
    }
  }
  // An OPT's owner is the root: one byte, then type, class (payload), TTL, rdlength.
  bool has_cookie = false;
  if (opt_length) {
    for (std::size_t o = opt_at + 11; o + 4 <= opt_at + opt_length; o += 4u + u16(m + o + 2))
      if (u16(m + o) == kOptionCookie) has_cookie = true;
    std::memmove(m + question_end, m + opt_at, opt_length);
  }
  put_u16(m + 6, 0);
  put_u16(m + 8, 0);
  put_u16(m + 10, opt_length ? 1 : 0);
  uint16_t flags = u16(m + 2);
  if (badcookie && has_cookie) {
    flags = static_cast<uint16_t>((flags & ~(kFlagTc | 0x000F)) | (kRcodeBadcookie & 0x0F));
    m[question_end + 5] = static_cast<uint8_t>(kRcodeBadcookie >> 4);  // the OPT's extended rcode
    if (was_badcookie) *was_badcookie = true;
  } else {
    flags |= kFlagTc;
  }
  put_u16(m + 2, flags);
  return question_end + opt_length;
}

Outcome limit_response(Limiter& limiter, const Policy& policy, const util::IpAddress& client, uint8_t* response,
                       std::size_t length, const ResponseFacts& facts, uint32_t now) {
  Outcome out;
  out.length = length;
  if (length < kHeader) return out;
  ResponseKey key;
  if (facts.rcode == 0 && u16(response + 6) > 0) {
    const std::size_t name_length = qname_length(response, length);
    key.category = name_length ? Category::answer : Category::error;
    key.name = {reinterpret_cast<const char*>(response + kHeader), name_length};
    // Random names under a wildcard: one bucket, or a flood of them escapes the limit.
    if (name_length && !facts.wildcard.empty()) key.name = facts.wildcard;
    if (name_length && kHeader + name_length + 2 <= length) key.qtype = u16(response + kHeader + name_length);
  } else if (facts.rcode == 0 || facts.rcode == 3) {
    key.category = facts.rcode == 0 ? Category::nodata : Category::nxdomain;
    key.name = facts.zone;
  } else {
    key.category = Category::error;
  }
  out.action = limiter.account(policy, client, key, now);
  if (out.action == Action::send) return out;
  if (uint64_t suppressed = 0; limiter.may_log(now, suppressed)) log_limited(policy, client, key, out.action, suppressed);
  if (out.action == Action::drop) out.length = 0;
  else if (out.action == Action::slip) {
    out.length = slip_response(response, length, facts.client_cookie, &out.badcookie);
    if (out.length == 0) out.action = Action::drop;
  }
  return out;
}

}  // namespace meridian::rrl
