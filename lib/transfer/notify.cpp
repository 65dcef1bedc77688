// NOTIFY (RFC 1996) from a thread of its own: published snapshots are looked at
// a few times a second (one mutex-guarded pointer copy), and a zone whose serial
// changed (or that is new) is announced to its `transfer.notify` targets over UDP.
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <random>

#include "dns/constants.hpp"
#include "dns/name.hpp"
#include "transfer/transfer.hpp"
#include "transfer/transfer_counters.hpp"
#include "util/log.hpp"

namespace meridian::transfer {

namespace {

constexpr uint16_t kOpcodeNotify = 4;
using Clock = std::chrono::steady_clock;

// NOTIFY for the zone's SOA, with the SOA in the answer section (RFC 1996 3.7).
std::vector<uint8_t> notify_message(const zone::Zone& zone, uint16_t id) {
  std::vector<uint8_t> m(dns::kHeaderSize);
  dns::write_u16(m.data(), id);
  dns::write_u16(m.data() + 2, static_cast<uint16_t>(kOpcodeNotify << 11 | dns::flag::AA));
  dns::write_u16(m.data() + 4, 1);
  dns::write_u16(m.data() + 6, 1);
  const std::string& origin = zone.origin();
  const auto put16 = [&](uint16_t v) {
    m.push_back(static_cast<uint8_t>(v >> 8));
    m.push_back(static_cast<uint8_t>(v));
  };
  m.reserve(dns::kHeaderSize + 2 * origin.size() + 64);  // also keeps GCC 12 -O3 from a false -Warray-bounds
  m.insert(m.end(), origin.begin(), origin.end());
  put16(dns::type::SOA);
  put16(dns::klass::IN);
  const zone::RRsetView soa = zone.soa();
  const std::string_view rdata = soa.rdata.front().wire;
  put16(0xC000 | dns::kHeaderSize);  // the question's name
  put16(dns::type::SOA);
  put16(dns::klass::IN);
  put16(static_cast<uint16_t>(soa.ttl >> 16));
  put16(static_cast<uint16_t>(soa.ttl));
  put16(static_cast<uint16_t>(rdata.size()));
  m.insert(m.end(), rdata.begin(), rdata.end());
  return m;
}

sockaddr_storage to_sockaddr(const util::HostPort& target, socklen_t& length) {
  sockaddr_storage s{};
  if (target.address.is_v4()) {
    auto* in = reinterpret_cast<sockaddr_in*>(&s);
    in->sin_family = AF_INET;
    in->sin_port = htons(target.port);
    const auto bytes = target.address.to_v4().to_bytes();
    std::memcpy(&in->sin_addr, bytes.data(), 4);
    length = sizeof(sockaddr_in);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&s);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(target.port);
    const auto bytes = target.address.to_v6().to_bytes();
    std::memcpy(&in6->sin6_addr, bytes.data(), 16);
    length = sizeof(sockaddr_in6);
  }
  return s;
}

// Whether an answer came from the target it was sent to (address and port).
bool same_endpoint(const sockaddr_storage& from, const util::HostPort& target) {
  socklen_t length = 0;
  const sockaddr_storage to = to_sockaddr(target, length);
  if (from.ss_family != to.ss_family) return false;
  if (from.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&from);
    const auto* b = reinterpret_cast<const sockaddr_in*>(&to);
    return a->sin_port == b->sin_port && std::memcmp(&a->sin_addr, &b->sin_addr, 4) == 0;
  }
  const auto* a = reinterpret_cast<const sockaddr_in6*>(&from);
  const auto* b = reinterpret_cast<const sockaddr_in6*>(&to);
  return a->sin6_port == b->sin6_port && std::memcmp(&a->sin6_addr, &b->sin6_addr, 16) == 0;
}

// The secondary's TSIG key: the first `allow` entry with a key whose network holds
// the target's address (the key it transfers with, RFC 8945 for NOTIFY too); null
// when none does, or the key is not in meridian.json's `tsig` (the load rejects that).
const query::TsigKey* notify_key(const query::Snapshot& snapshot, const zone::TransferSettings& settings,
                                 const util::HostPort& target) {
  const util::IpAddress address = util::IpAddress::from_asio(target.address).unmapped();
  for (const auto& allow : settings.allow) {
    if (allow.key.empty() || allow.net.family != address.family || !allow.net.contains(address.bytes())) continue;
    for (const auto& key : snapshot.tsig_keys)
      if (key.name == allow.key) return &key;
  }
  return nullptr;
}

}  // namespace

struct NotifySender::Pending {
  std::string zone;  // presentation form, for the log
  std::string origin;
  util::HostPort target;
  std::vector<uint8_t> message;
  std::optional<query::TsigKey> key;  // when signed: the answer must be signed with it
  std::string request_mac;
  uint16_t id = 0;
  unsigned sends = 0;
  Clock::time_point next_send;
};

NotifySender::NotifySender(SnapshotSource source, Options options)
    : source_(std::move(source)), options_(options) {
  thread_ = std::thread([this] { run(); });
}

NotifySender::~NotifySender() {
  stopping_ = true;  // seen within one poll interval
  if (thread_.joinable()) thread_.join();
}

void NotifySender::look_at(const query::Snapshot& snapshot, std::vector<Pending>& pending) {
  if (!snapshot.zones) return;
  const bool first = !seen_any_;
  const bool same = seen_any_ && !zones_seen_.owner_before(snapshot.zones) && !snapshot.zones.owner_before(zones_seen_);
  if (same) return;
  zones_seen_ = snapshot.zones;
  seen_any_ = true;
  static thread_local std::mt19937 random{std::random_device{}()};
  std::map<std::string, uint32_t> serials;
  snapshot.zones->for_each_zone([&](const zone::Zone& zone) {
    const uint32_t serial = zone.serial();
    serials[zone.origin()] = serial;
    const auto before = serials_.find(zone.origin());
    if (first || (before != serials_.end() && before->second == serial)) return;
    for (const auto& target : zone.transfer().notify) {
      // A newer serial replaces a NOTIFY still being retried to the same target.
      std::erase_if(pending, [&](const Pending& p) { return p.origin == zone.origin() && p.target.address == target.address &&
                                                              p.target.port == target.port; });
      Pending p;
      p.zone = dns::name_to_text(zone.origin());
      p.origin = zone.origin();
      p.target = target;
      p.id = static_cast<uint16_t>(random());
      p.message = notify_message(zone, p.id);
      // Signed once: its resends (within 15 s) stay well inside the TSIG fudge (300 s).
      if (const query::TsigKey* key = notify_key(snapshot, zone.transfer(), target)) {
        TsigRecord tsig;
        if (!sign_request(p.message, *key) || find_tsig(p.message.data(), p.message.size(), tsig) != TsigFound::found) {
          util::log(util::LogLevel::warn, "notify_unsigned", {{"zone", p.zone}, {"key", key->name}});
        } else {
          p.key = *key;
          p.request_mac = tsig.mac;
        }
      }
      p.next_send = Clock::now();
      pending.push_back(std::move(p));
    }
  });
  serials_ = std::move(serials);
}

void NotifySender::run() {
  const int sockets[2] = {::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0),
                          ::socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)};
  std::vector<Pending> pending;
  while (!stopping_.load()) {
    if (auto snapshot = source_()) look_at(*snapshot, pending);
    const auto now = Clock::now();
    for (auto it = pending.begin(); it != pending.end();) {
      if (it->next_send > now) {
        ++it;
        continue;
      }
      if (it->sends >= options_.max_sends) {
        util::log(util::LogLevel::warn, "notify_abandoned",
                  {{"zone", it->zone}, {"target", it->target.to_string()}, {"sends", std::to_string(it->sends)}});
        abandoned_.fetch_add(1);
        counters().notify_abandoned.fetch_add(1, std::memory_order_relaxed);
        it = pending.erase(it);
        continue;
      }
      socklen_t length = 0;
      const sockaddr_storage to = to_sockaddr(it->target, length);
      const int fd = sockets[it->target.address.is_v4() ? 0 : 1];
      if (fd >= 0 && ::sendto(fd, it->message.data(), it->message.size(), 0, reinterpret_cast<const sockaddr*>(&to), length) >= 0)
        counters().notify_sent.fetch_add(1, std::memory_order_relaxed);
      it->next_send = now + options_.first_retry * (1u << std::min(it->sends, 16u));
      ++it->sends;
      ++it;
    }
    // Answers, until the next look at the snapshots.
    pollfd fds[2] = {{sockets[0], POLLIN, 0}, {sockets[1], POLLIN, 0}};
    if (::poll(fds, 2, static_cast<int>(options_.poll_interval.count())) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (!(fds[i].revents & POLLIN)) continue;
      uint8_t buffer[1024];
      sockaddr_storage from{};
      for (int reads = 0; reads < 64; ++reads) {
        socklen_t from_length = sizeof from;
        const ssize_t n = ::recvfrom(sockets[i], buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&from), &from_length);
        if (n < static_cast<ssize_t>(dns::kHeaderSize)) break;
        const uint16_t id = dns::read_u16(buffer);
        const bool notify_response = (buffer[2] & 0x80) && ((buffer[2] >> 3) & 0x0F) == kOpcodeNotify;
        if (!notify_response) continue;
        const auto match = std::find_if(pending.begin(), pending.end(), [&](const Pending& p) {
          return p.id == id && p.sends > 0 && same_endpoint(from, p.target);
        });
        if (match == pending.end()) continue;
        if (match->key) {
          // Signed NOTIFY: an answer that is not signed by the same key is not its answer
          // (RFC 8945 5.3.2: discarded; we keep resending until a good one or max_sends).
          const uint16_t error = verify_response(buffer, static_cast<std::size_t>(n), *match->key, match->request_mac);
          if (error != 0) {
            util::log(util::LogLevel::warn, "notify_answer_unverified",
                      {{"zone", match->zone}, {"target", match->target.to_string()},
                       {"tsig_error", std::to_string(error)}});
            if (error >= 16 && error <= 18) counters().count_tsig_failure(error);
            continue;
          }
        }
        util::log(util::LogLevel::info, "notify_acknowledged",
                  {{"zone", match->zone}, {"target", match->target.to_string()},
                   {"rcode", std::to_string(buffer[3] & 0x0F)}});
        acknowledged_.fetch_add(1);
        counters().notify_acknowledged.fetch_add(1, std::memory_order_relaxed);
        pending.erase(match);
      }
    }
  }
  for (const int fd : sockets)
    if (fd >= 0) ::close(fd);
}

}  // namespace meridian::transfer
