// The identity of what health is kept for: a region, an endpoint DNS hands out,
// or a backend behind a region's forwarders. Its text form is what health files,
// /status, metrics labels and logs show (README, "Health"):
//   service/region                      a region (overrides only)
//   service/region/ADDRESS              an endpoint
//   service/region/backend/HOST:PORT    a backend
// parse() and to_string() are the only places that text is read and written.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace meridian::health {

class HealthKey {
 public:
  enum class Kind : uint8_t { region, endpoint, backend };

  static HealthKey region(std::string service, std::string region);
  static HealthKey endpoint(std::string service, std::string region, std::string address);
  static HealthKey backend(std::string service, std::string region, std::string host_port);

  // nullopt for text that is not one of the three forms (empty parts, no region,
  // a "/" inside an endpoint or backend address).
  static std::optional<HealthKey> parse(std::string_view text);
  std::string to_string() const;

  Kind kind() const { return kind_; }
  const std::string& service() const { return service_; }
  const std::string& region_name() const { return region_; }
  // The endpoint's address or the backend's HOST:PORT; empty for a region.
  const std::string& address() const { return address_; }
  // The region an endpoint or backend belongs to (a region: itself).
  HealthKey region_key() const { return region(service_, region_); }

  bool operator==(const HealthKey&) const = default;
  auto operator<=>(const HealthKey&) const = default;

 private:
  HealthKey(Kind kind, std::string service, std::string region, std::string address)
      : kind_(kind), service_(std::move(service)), region_(std::move(region)), address_(std::move(address)) {}
  Kind kind_;
  std::string service_;
  std::string region_;
  std::string address_;
};

}  // namespace meridian::health

template <>
struct std::hash<meridian::health::HealthKey> {
  std::size_t operator()(const meridian::health::HealthKey& k) const noexcept;
};
