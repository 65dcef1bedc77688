// The bucket table: 4-way set-associative (a set is one cache line), keyed by a
// SipHash of the bucket key under a per-process random key; a key that finds its
// set full takes the entry idle the longest, so memory stays bounded and a flood
// of new keys only evicts buckets that stopped mattering first.
#include <algorithm>
#include <cstring>

#include "cookies/secret_file.hpp"
#include "cookies/siphash.hpp"
#include "rrl/rrl.hpp"

namespace meridian::rrl {

namespace {

constexpr std::size_t kWays = 4;
constexpr uint64_t kSlipBits = 0xFF;  // the low byte of a tag counts limited responses until the next slip

}  // namespace

// 16 bytes; tag 0: empty.
struct alignas(16) Limiter::Entry {
  uint64_t tag;     // the key's hash with the low byte replaced by the slip count
  uint32_t stamp;   // the second the balance was last credited
  int32_t balance;  // responses left this second; negative: debt
};

bool Policy::exempts(const util::IpAddress& client) const {
  for (const auto& net : exempt)
    if (net.family == client.family && net.contains(client.address)) return true;
  return false;
}

bool operator==(const Policy& a, const Policy& b) {
  if (a.exempt.size() != b.exempt.size()) return false;
  for (std::size_t i = 0; i < a.exempt.size(); ++i)
    if (!(static_cast<const util::IpAddress&>(a.exempt[i]) == b.exempt[i]) || a.exempt[i].prefix_len != b.exempt[i].prefix_len)
      return false;
  return std::equal(a.rate, a.rate + kCategories, b.rate) && a.window == b.window && a.slip == b.slip &&
         a.ipv4_prefix == b.ipv4_prefix && a.ipv6_prefix == b.ipv6_prefix && a.log_only == b.log_only &&
         a.table_size == b.table_size;
}

std::shared_ptr<const Policy> make_policy(const config::RrlSettings& s) {
  auto p = std::make_shared<Policy>();
  p->rate[static_cast<unsigned>(Category::answer)] = s.responses_per_second;
  p->rate[static_cast<unsigned>(Category::nodata)] = s.responses_per_second;
  p->rate[static_cast<unsigned>(Category::nxdomain)] = s.nxdomains_per_second;
  p->rate[static_cast<unsigned>(Category::error)] = s.errors_per_second;
  p->window = s.window;
  p->slip = s.slip;
  p->ipv4_prefix = s.ipv4_prefix;
  p->ipv6_prefix = s.ipv6_prefix;
  for (const auto& text : s.exempt) {
    std::string ignored;
    if (auto net = util::parse_network(text, ignored)) p->exempt.push_back(*net);
  }
  p->log_only = s.log_only;
  std::size_t size = kWays;
  while (size < s.table_size) size <<= 1;
  p->table_size = size;
  return p;
}

Limiter::Limiter() {
  static_assert(sizeof(Entry) == 16, "four entries to a cache line");
  const cookies::Secret random = cookies::random_secret();
  std::memcpy(key_, random.bytes, sizeof key_);
}

Limiter::Limiter(const uint8_t key[16]) { std::memcpy(key_, key, sizeof key_); }

Limiter::~Limiter() { release(); }

void Limiter::fit(const Policy& policy) {
  if (capacity() == policy.table_size) return;
  release();
  table_ = new Entry[policy.table_size]();
  mask_ = policy.table_size - 1;
}

void Limiter::release() {
  delete[] table_;
  table_ = nullptr;
  mask_ = 0;
}

Limiter::Entry* Limiter::find(uint64_t hash, uint32_t now, bool& fresh) {
  const uint64_t tag = (hash | (kSlipBits + 1)) & ~kSlipBits;  // never 0
  Entry* set = table_ + (hash & mask_ & ~(kWays - 1));
  for (std::size_t i = 0; i < kWays; ++i) {
    if ((set[i].tag & ~kSlipBits) == tag) {
      fresh = false;
      return &set[i];
    }
  }
  Entry* victim = set;
  for (std::size_t i = 0; i < kWays; ++i) {
    if (set[i].tag == 0) {
      victim = &set[i];
      break;
    }
    if (now - set[i].stamp > now - victim->stamp) victim = &set[i];
  }
  victim->tag = tag;
  fresh = true;
  return victim;
}

Action Limiter::account(const Policy& policy, const util::IpAddress& client, const ResponseKey& key, uint32_t now) {
  const uint32_t rate = policy.rate[static_cast<unsigned>(key.category)];
  if (rate == 0) return Action::send;

  // category, family, the client's prefix (bits beyond it zero), qtype, name
  uint8_t bytes[2 + 16 + 2 + 256];
  std::size_t n = 0;
  bytes[n++] = static_cast<uint8_t>(key.category);
  bytes[n++] = client.family;
  const unsigned prefix = client.family == 4 ? policy.ipv4_prefix : policy.ipv6_prefix;
  const unsigned size = client.family == 4 ? 4 : 16;
  for (unsigned i = 0; i < size; ++i) {
    const unsigned bits = prefix > i * 8 ? prefix - i * 8 : 0;
    const uint8_t mask = bits >= 8 ? 0xFF : static_cast<uint8_t>(0xFF00 >> bits);
    bytes[n++] = client.address[i] & mask;
  }
  bytes[n++] = static_cast<uint8_t>(key.qtype >> 8);
  bytes[n++] = static_cast<uint8_t>(key.qtype);
  const std::size_t name_length = std::min<std::size_t>(key.name.size(), 256);
  std::memcpy(bytes + n, key.name.data(), name_length);
  n += name_length;
  const uint64_t hash = cookies::siphash24(key_, bytes, n);

  bool fresh = false;
  Entry& e = *find(hash, now, fresh);
  const int64_t full = rate;
  if (fresh) {
    e.balance = static_cast<int32_t>(full);
  } else if (now != e.stamp) {
    // Credit the seconds gone by, up to one second's worth (BIND's debit_rrl_entry).
    const uint32_t age = now - e.stamp;
    int64_t balance = age > policy.window ? full : e.balance + full * age;
    if (balance >= full) {
      balance = full;
      e.tag &= ~kSlipBits;
    }
    e.balance = static_cast<int32_t>(balance);
  }
  e.stamp = now;
  if (--e.balance >= 0) return Action::send;
  // A prefix that keeps flooding stays in debt for up to `window` seconds.
  const int64_t floor = -static_cast<int64_t>(policy.window) * full;
  if (e.balance < floor) e.balance = static_cast<int32_t>(floor);

  // Checked only here: exempt sources cost nothing while they stay within the rate.
  if (policy.exempts(client)) return Action::send;
  if (policy.log_only) return Action::log_only;
  if (policy.slip == 0) return Action::drop;
  const uint64_t count = (e.tag & kSlipBits) + 1;
  if (count >= policy.slip) {
    e.tag &= ~kSlipBits;
    return Action::slip;
  }
  e.tag = (e.tag & ~kSlipBits) | count;
  return Action::drop;
}

bool Limiter::may_log(uint32_t now, uint64_t& suppressed) {
  if (logged_once_ && now == last_log_) {
    ++unlogged_;
    return false;
  }
  suppressed = unlogged_;
  unlogged_ = 0;
  last_log_ = now;
  logged_once_ = true;
  return true;
}

}  // namespace meridian::rrl
