// The bucket table: 4-way set-associative (a set is one cache line), keyed by a
// multiply-mix hash (wyhash's folded 64x64->128 multiply) under a per-process random
// key, so that no one can compute which keys collide; SipHash cost three times as
// much per response. A key that finds its set full takes the entry idle the longest,
// so memory stays bounded and a flood of new keys evicts buckets gone quiet first.
#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <new>

#include "cookies/secret_file.hpp"
#include "dns/constants.hpp"
#include "rrl/rrl.hpp"

namespace meridian::rrl {

namespace {

constexpr std::size_t kWays = 4;
constexpr uint64_t kSlipBits = 0xFF;  // the low byte of a tag counts limited responses until the next slip

inline uint64_t mix(uint64_t a, uint64_t b) {
  const unsigned __int128 product = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(product) ^ static_cast<uint64_t>(product >> 64);
}

uint64_t keyed_hash(const uint64_t* words, std::size_t n, const uint64_t key[4]) {
  uint64_t h = key[0] ^ n;
  std::size_t i = 0;
  for (; i + 2 <= n; i += 2) h = mix(words[i] ^ key[1], words[i + 1] ^ h);
  if (i < n) h = mix(words[i] ^ key[2], h ^ key[1]);
  return mix(h ^ key[3], n ^ key[2]);
}

// Lower-cases A-Z in eight bytes at once (bytes >= 0x80 unchanged; label lengths are
// at most 63, so never in A-Z).
inline uint64_t fold8(uint64_t x) {
  constexpr uint64_t kHigh = 0x8080808080808080ull, kLow7 = 0x7F7F7F7F7F7F7F7Full, kOnes = 0x0101010101010101ull;
  const uint64_t low = x & kLow7;
  const uint64_t at_least_a = low + (0x80 - 'A') * kOnes;
  const uint64_t above_z = low + (0x7F - 'Z') * kOnes;
  const uint64_t upper = (at_least_a ^ above_z) & ~x & kHigh;
  return x | (upper >> 2);
}

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
  const cookies::Secret first = cookies::random_secret(), second = cookies::random_secret();
  std::memcpy(key_, first.bytes, 16);
  std::memcpy(key_ + 2, second.bytes, 16);
}

Limiter::Limiter(const uint8_t key[32]) { std::memcpy(key_, key, sizeof key_); }

Limiter::~Limiter() { release(); }

// The table is mapped on its own and asked for transparent huge pages: a bucket is one
// random access per response, and over 4 KB pages the default 1 MB table costs a TLB miss
// on most of them (in interleaved pairs RRL-on cost +5.8% CPU per query over 4 KB pages,
// +2.4% in a huge page; docs/benchmarks.md). mmap's memory is zeroed: every tag empty.
void Limiter::fit(const Policy& policy) {
  if (capacity() == policy.table_size) return;
  release();
  constexpr std::size_t kHugePage = 2u << 20;
  const std::size_t bytes = (policy.table_size * sizeof(Entry) + kHugePage - 1) & ~(kHugePage - 1);
  // One huge page more, so that an aligned run of whole huge pages fits inside.
  void* mapped = mmap(nullptr, bytes + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapped == MAP_FAILED) throw std::bad_alloc();
  const auto start = reinterpret_cast<uintptr_t>(mapped);
  const uintptr_t aligned = (start + kHugePage - 1) & ~(uintptr_t{kHugePage} - 1);
  madvise(reinterpret_cast<void*>(aligned), bytes, MADV_HUGEPAGE);  // advice: without THP, 4 KB pages
  mapping_ = mapped;
  mapping_bytes_ = bytes + kHugePage;
  table_ = reinterpret_cast<Entry*>(aligned);
  mask_ = policy.table_size - 1;
}

void Limiter::release() {
  if (mapping_) munmap(mapping_, mapping_bytes_);
  mapping_ = nullptr;
  mapping_bytes_ = 0;
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

  // In 64-bit words: category, family, qtype and (IPv4) the prefix; IPv6's prefix
  // in two more; then the name, lower-cased, zero-padded to a whole word.
  uint64_t words[3 + (dns::kMaxNameLength + 7) / 8];
  const bool v4 = client.family == 4;
  const unsigned prefix = v4 ? policy.ipv4_prefix : policy.ipv6_prefix;
  // The prefix as numbers (host order), bits beyond it cleared; prefixes are >= 1.
  uint64_t high = 0, low = 0;
  if (v4) {
    uint32_t a;
    std::memcpy(&a, client.address, 4);
    a = __builtin_bswap32(a);
    high = prefix >= 32 ? a : a & ~(~0u >> prefix);
  } else {
    std::memcpy(&high, client.address, 8);
    std::memcpy(&low, client.address + 8, 8);
    high = __builtin_bswap64(high);
    low = __builtin_bswap64(low);
    if (prefix < 64) high &= ~(~0ull >> prefix);
    low = prefix <= 64 ? 0 : prefix >= 128 ? low : low & ~(~0ull >> (prefix - 64));
  }
  std::size_t n = 0;
  words[n++] = static_cast<uint64_t>(key.category) | static_cast<uint64_t>(client.family) << 8 |
               static_cast<uint64_t>(key.qtype) << 16 | (v4 ? high << 32 : 0);
  if (!v4) {
    words[n++] = high;
    words[n++] = low;
  }
  const std::size_t name_length = std::min(key.name.size(), dns::kMaxNameLength);
  const std::size_t name_words = (name_length + 7) / 8;
  if (name_words) {
    words[n + name_words - 1] = 0;
    std::memcpy(words + n, key.name.data(), name_length);
    for (std::size_t i = 0; i < name_words; ++i) words[n + i] = fold8(words[n + i]);
    n += name_words;
  }
  const uint64_t hash = keyed_hash(words, n, key_);

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
