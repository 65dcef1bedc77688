// The bundled forwarding tier: per region with "forward" and "backends", an L4 TCP
// proxy and/or an L7 HTTP/1.1 reverse proxy balancing over the region's backends,
// reading the shared health table and feeding it passive observations (a backend the
// tier ejects is reported down with source `passive`, and up again when it answers).
// All listeners run on the tier's own io thread. Schema and behaviour:
// lib/forward/README.md.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "forward/settings.hpp"
#include "health/health_table.hpp"

namespace meridian::forward {

// Validates one region's "backends" + "forward" (members of the region object).
// Errors are reported at JSON pointers relative to the region object, e.g.
// "/forward/l7/balance". Returns false when there was any.
bool validate_region(const nlohmann::json& region, const ErrorSink& error);

// The health-table key of a backend: "service/region/backend/HOST:PORT".
std::string backend_key(const std::string& service, const std::string& region, const std::string& address);

class ForwardingTier {
 public:
  explicit ForwardingTier(health::HealthTable& health);
  ~ForwardingTier();
  ForwardingTier(const ForwardingTier&) = delete;
  ForwardingTier& operator=(const ForwardingTier&) = delete;

  // Starts listeners for every region of the plan (the regions with "forward" and
  // "backends", read at load: runtime::LoadedState::forwarding); on reload,
  // re-applies: keeps listeners whose address did not change (and their connections),
  // keeps the state (circuit, ejections, pools) of backends that still exist, closes
  // listeners that are gone. All or nothing: throws std::runtime_error (naming the
  // listen address that could not be bound or used twice) and changes nothing.
  // Callable again after stop() (starts a new io thread).
  void apply(const ForwardingPlan& plan);

  // Graceful: stops accepting, lets requests in flight finish (at most the regions'
  // drain_timeout, default 5 s), then closes everything. Idempotent.
  void stop();

  std::string metrics() const;             // Prometheus text (# HELP / # TYPE + samples)
  nlohmann::json status() const;           // per listener and backend
  std::vector<std::string> listening() const;  // "l7 127.0.0.11:8080", real ports when 0 was asked

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace meridian::forward
