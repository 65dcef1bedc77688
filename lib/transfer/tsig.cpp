// TSIG (RFC 8945): HMAC-SHA256/384/512 over a message and the TSIG variables,
// chained over the messages of a transfer (section 5.3.1). OpenSSL's HMAC does
// the hashing; the framing is written here so that the MAC covers exactly the
// bytes sent (ldns re-encodes a message before signing it, and its one-call
// verification cannot tell BADSIG from BADTIME).
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <ctime>

#include "dns/constants.hpp"
#include "dns/name.hpp"
#include "transfer/transfer.hpp"

namespace meridian::transfer {

namespace {

const EVP_MD* digest_of(std::string_view algorithm) {
  std::string text;
  if (!algorithm.empty() && static_cast<uint8_t>(algorithm[0]) < 64 && algorithm.size() > 1 &&
      algorithm.back() == '\0') {
    text = dns::name_to_text(dns::fold_wire_name(algorithm));  // wire form
  } else {
    for (const char c : algorithm) text += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (!text.empty() && text.back() == '.') text.pop_back();
  if (text == "hmac-sha256") return EVP_sha256();
  if (text == "hmac-sha384") return EVP_sha384();
  if (text == "hmac-sha512") return EVP_sha512();
  return nullptr;
}

void put_u16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}
void put_u48(std::string& out, uint64_t v) {
  for (int shift = 40; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

std::string wire_of_text_name(std::string_view text) {
  std::string with_dot(text);
  if (with_dot.empty() || with_dot.back() != '.') with_dot += '.';
  const auto wire = dns::name_from_text(with_dot);
  return wire ? dns::fold_wire_name(*wire) : std::string();
}

// Key name, class, TTL, algorithm, time signed, fudge, error, other (section 4.3.3).
std::string variables(std::string_view key_name, std::string_view algorithm, uint64_t time_signed, uint16_t fudge,
                      uint16_t error, std::string_view other) {
  std::string v(key_name);
  put_u16(v, dns::klass::ANY);
  v.append(4, '\0');  // TTL
  v += algorithm;
  put_u48(v, time_signed);
  put_u16(v, fudge);
  put_u16(v, error);
  put_u16(v, static_cast<uint16_t>(other.size()));
  v += other;
  return v;
}

void append_tsig_record(std::vector<uint8_t>& message, std::string_view key_name, std::string_view algorithm,
                        uint64_t time_signed, std::string_view mac, uint16_t original_id, uint16_t error,
                        std::string_view other) {
  std::string rr(key_name);
  put_u16(rr, kTsigType);
  put_u16(rr, dns::klass::ANY);
  rr.append(4, '\0');
  std::string rdata(algorithm);
  put_u48(rdata, time_signed);
  put_u16(rdata, kFudge);
  put_u16(rdata, static_cast<uint16_t>(mac.size()));
  rdata += mac;
  put_u16(rdata, original_id);
  put_u16(rdata, error);
  put_u16(rdata, static_cast<uint16_t>(other.size()));
  rdata += other;
  put_u16(rr, static_cast<uint16_t>(rdata.size()));
  rr += rdata;
  message.insert(message.end(), rr.begin(), rr.end());
  dns::write_u16(message.data() + 10, static_cast<uint16_t>(dns::read_u16(message.data() + 10) + 1));
}

uint64_t unix_now(uint64_t now) { return now ? now : static_cast<uint64_t>(std::time(nullptr)); }

bool skip_record(const uint8_t* m, std::size_t len, std::size_t& pos) {
  dns::NameBuffer name;
  if (dns::read_name(m, len, pos, name, false) != dns::NameStatus::ok || pos + 10 > len) return false;
  pos += 10 + dns::read_u16(m + pos + 8);
  return pos <= len;
}

// Whether tsig's MAC is the HMAC, under secret, of prior (the request's MAC with its
// length, for a response; empty for a request), the message as it was signed (without
// its TSIG, with its original ID) and every TSIG variable (RFC 8945 4.3.1).
bool mac_matches(std::string_view prior, const uint8_t* m, const TsigRecord& tsig, std::string_view secret) {
  std::string digest;
  if (!prior.empty()) {
    put_u16(digest, static_cast<uint16_t>(prior.size()));
    digest += prior;
  }
  const std::size_t start = digest.size();
  digest.append(reinterpret_cast<const char*>(m), tsig.start);
  auto* header = reinterpret_cast<uint8_t*>(digest.data() + start);
  dns::write_u16(header, tsig.original_id);
  dns::write_u16(header + 10, static_cast<uint16_t>(dns::read_u16(header + 10) - 1));
  digest += variables(tsig.key_name, tsig.algorithm, tsig.time_signed, tsig.fudge, tsig.error, tsig.other);
  const auto mac = hmac(tsig.algorithm, secret, digest);
  return mac && mac->size() == tsig.mac.size() && CRYPTO_memcmp(mac->data(), tsig.mac.data(), mac->size()) == 0;
}

bool outside_fudge(const TsigRecord& tsig, uint64_t now) {
  const uint64_t t = unix_now(now);
  return (t > tsig.time_signed ? t - tsig.time_signed : tsig.time_signed - t) > tsig.fudge;
}

}  // namespace

std::optional<std::string> hmac(std::string_view algorithm, std::string_view secret, std::string_view data) {
  const EVP_MD* md = digest_of(algorithm);
  if (!md) return std::nullopt;
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int out_len = 0;
  if (!HMAC(md, secret.data(), static_cast<int>(secret.size()), reinterpret_cast<const unsigned char*>(data.data()),
            data.size(), out, &out_len))
    return std::nullopt;
  return std::string(reinterpret_cast<const char*>(out), out_len);
}

std::optional<std::string> decode_base64(std::string_view text) {
  std::string clean;
  for (const char c : text)
    if (!std::isspace(static_cast<unsigned char>(c))) clean += c;
  if (clean.empty() || clean.size() % 4 != 0) return std::nullopt;
  std::string out(clean.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(clean.data()), static_cast<int>(clean.size()));
  if (n < 0) return std::nullopt;
  std::size_t padding = 0;
  while (padding < 2 && clean[clean.size() - 1 - padding] == '=') ++padding;
  out.resize(static_cast<std::size_t>(n) - padding);
  return out;
}

std::string algorithm_wire_name(std::string_view text) {
  return digest_of(text) ? wire_of_text_name(text) : std::string();
}

TsigFound find_tsig(const uint8_t* m, std::size_t len, TsigRecord& out) {
  if (len < dns::kHeaderSize) return TsigFound::malformed;
  const unsigned qd = dns::read_u16(m + 4), an = dns::read_u16(m + 6), ns = dns::read_u16(m + 8),
                 ar = dns::read_u16(m + 10);
  if (ar == 0) return TsigFound::none;
  std::size_t pos = dns::kHeaderSize;
  dns::NameBuffer name;
  for (unsigned i = 0; i < qd; ++i) {
    if (dns::read_name(m, len, pos, name, false) != dns::NameStatus::ok || pos + 4 > len) return TsigFound::malformed;
    pos += 4;
  }
  for (unsigned i = 0; i + 1 < an + ns + ar; ++i)
    if (!skip_record(m, len, pos)) return TsigFound::malformed;
  const std::size_t start = pos;
  if (dns::read_name(m, len, pos, name, true) != dns::NameStatus::ok || pos + 10 > len) return TsigFound::malformed;
  if (dns::read_u16(m + pos) != kTsigType) return TsigFound::none;
  const std::size_t rdlen = dns::read_u16(m + pos + 8);
  pos += 10;
  const std::size_t end = pos + rdlen;
  if (end != len) return TsigFound::malformed;  // TSIG is the last record
  out.start = start;
  out.key_name = std::string(name.view());
  if (dns::read_name(m, end, pos, name, true) != dns::NameStatus::ok || pos + 10 > end) return TsigFound::malformed;
  out.algorithm = std::string(name.view());
  out.time_signed = 0;
  for (int i = 0; i < 6; ++i) out.time_signed = out.time_signed << 8 | m[pos + i];
  out.fudge = dns::read_u16(m + pos + 6);
  const std::size_t mac_len = dns::read_u16(m + pos + 8);
  pos += 10;
  if (pos + mac_len + 6 > end) return TsigFound::malformed;
  out.mac.assign(reinterpret_cast<const char*>(m + pos), mac_len);
  pos += mac_len;
  out.original_id = dns::read_u16(m + pos);
  out.error = dns::read_u16(m + pos + 2);
  const std::size_t other_len = dns::read_u16(m + pos + 4);
  pos += 6;
  if (pos + other_len != end) return TsigFound::malformed;
  out.other.assign(reinterpret_cast<const char*>(m + pos), other_len);
  return TsigFound::found;
}

uint16_t verify_request(const uint8_t* m, std::size_t, const TsigRecord& tsig, const std::vector<query::TsigKey>& keys,
                        uint64_t now, TsigSession& session) {
  const query::TsigKey* key = nullptr;
  for (const auto& k : keys)
    if (wire_of_text_name(k.name) == tsig.key_name) key = &k;
  if (!key || algorithm_wire_name(key->algorithm) != tsig.algorithm) return tsig_error::BADKEY;
  const auto secret = decode_base64(key->secret);
  if (!secret) return tsig_error::BADKEY;
  if (!mac_matches({}, m, tsig, *secret)) return tsig_error::BADSIG;
  session.key_name = tsig.key_name;
  session.algorithm = tsig.algorithm;
  session.secret = *secret;
  session.prior_mac = tsig.mac;
  session.first = true;
  return outside_fudge(tsig, now) ? tsig_error::BADTIME : 0;
}

void sign_message(std::vector<uint8_t>& message, TsigSession& session, uint64_t now, uint16_t error) {
  const uint64_t t = unix_now(now);
  std::string other;
  if (error == tsig_error::BADTIME) put_u48(other, t);  // the server's time (section 5.2.3)
  std::string digest;
  put_u16(digest, static_cast<uint16_t>(session.prior_mac.size()));
  digest += session.prior_mac;
  digest.append(reinterpret_cast<const char*>(message.data()), message.size());
  if (session.first) {
    digest += variables(session.key_name, session.algorithm, t, kFudge, error, other);
  } else {
    put_u48(digest, t);
    put_u16(digest, kFudge);
  }
  const std::string mac = hmac(session.algorithm, session.secret, digest).value_or(std::string());
  append_tsig_record(message, session.key_name, session.algorithm, t, mac, dns::read_u16(message.data()), error, other);
  session.prior_mac = mac;
  session.first = false;
}

bool sign_request(std::vector<uint8_t>& message, const query::TsigKey& key, uint64_t now) {
  const std::string algorithm = algorithm_wire_name(key.algorithm);
  const auto secret = decode_base64(key.secret);
  if (algorithm.empty() || !secret) return false;
  const std::string key_name = wire_of_text_name(key.name);
  const uint64_t t = unix_now(now);
  // A request's MAC covers the message and the TSIG variables; no MAC precedes it.
  std::string digest(reinterpret_cast<const char*>(message.data()), message.size());
  digest += variables(key_name, algorithm, t, kFudge, 0, {});
  const auto mac = hmac(algorithm, *secret, digest);
  if (!mac) return false;
  append_tsig_record(message, key_name, algorithm, t, *mac, dns::read_u16(message.data()), 0, {});
  return true;
}

uint16_t verify_response(const uint8_t* m, std::size_t length, const query::TsigKey& key, std::string_view request_mac,
                         uint64_t now) {
  TsigRecord tsig;
  if (find_tsig(m, length, tsig) != TsigFound::found) return tsig_error::BADSIG;
  if (wire_of_text_name(key.name) != tsig.key_name || algorithm_wire_name(key.algorithm) != tsig.algorithm)
    return tsig_error::BADKEY;
  if (tsig.error != 0) return tsig.error;  // the peer refused our signature (an unsigned TSIG)
  const auto secret = decode_base64(key.secret);
  if (!secret) return tsig_error::BADKEY;
  if (request_mac.empty() || !mac_matches(request_mac, m, tsig, *secret)) return tsig_error::BADSIG;
  return outside_fudge(tsig, now) ? tsig_error::BADTIME : 0;
}

void append_unsigned_tsig(std::vector<uint8_t>& message, const TsigRecord& request, uint16_t error, uint64_t now) {
  append_tsig_record(message, request.key_name, request.algorithm, unix_now(now), {}, dns::read_u16(message.data()),
                     error, {});
}

}  // namespace meridian::transfer
