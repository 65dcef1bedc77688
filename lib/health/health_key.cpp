#include "health/health_key.hpp"

namespace meridian::health {

namespace {
constexpr std::string_view kBackendInfix = "backend/";
}  // namespace

HealthKey HealthKey::region(std::string service, std::string region) {
  return {Kind::region, std::move(service), std::move(region), {}};
}

HealthKey HealthKey::endpoint(std::string service, std::string region, std::string address) {
  return {Kind::endpoint, std::move(service), std::move(region), std::move(address)};
}

HealthKey HealthKey::backend(std::string service, std::string region, std::string host_port) {
  return {Kind::backend, std::move(service), std::move(region), std::move(host_port)};
}

std::optional<HealthKey> HealthKey::parse(std::string_view text) {
  const auto first = text.find('/');
  if (first == std::string_view::npos || first == 0) return std::nullopt;
  const std::string_view service = text.substr(0, first);
  const std::string_view rest = text.substr(first + 1);
  const auto second = rest.find('/');
  const std::string_view region = rest.substr(0, second);
  if (region.empty()) return std::nullopt;
  if (second == std::string_view::npos) return HealthKey::region(std::string(service), std::string(region));
  std::string_view target = rest.substr(second + 1);
  Kind kind = Kind::endpoint;
  if (target.starts_with(kBackendInfix)) {
    kind = Kind::backend;
    target.remove_prefix(kBackendInfix.size());
  }
  if (target.empty() || target.find('/') != std::string_view::npos) return std::nullopt;
  return HealthKey(kind, std::string(service), std::string(region), std::string(target));
}

std::string HealthKey::to_string() const {
  std::string out;
  out.reserve(service_.size() + region_.size() + address_.size() + 2 + (kind_ == Kind::backend ? kBackendInfix.size() : 0));
  out.append(service_).append("/").append(region_);
  if (kind_ == Kind::region) return out;
  out.append("/");
  if (kind_ == Kind::backend) out.append(kBackendInfix);
  return out.append(address_);
}

}  // namespace meridian::health

std::size_t std::hash<meridian::health::HealthKey>::operator()(const meridian::health::HealthKey& k) const noexcept {
  const std::hash<std::string> h;
  std::size_t seed = static_cast<std::size_t>(k.kind());
  for (const std::string* part : {&k.service(), &k.region_name(), &k.address()})
    seed ^= h(*part) + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2);
  return seed;
}
