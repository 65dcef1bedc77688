#include "cluster/cluster_keys.hpp"

namespace meridian::cluster {

std::optional<ClusterKeys::Parsed> ClusterKeys::parse(const std::string& key) const {
  if (key.compare(0, root_.size(), root_) != 0) return std::nullopt;
  const std::string rest = key.substr(root_.size());
  auto after = [&](const std::string& part) -> std::optional<std::string> {
    if (rest.compare(0, part.size(), part) != 0 || rest.size() == part.size()) return std::nullopt;
    return rest.substr(part.size());
  };
  if (auto node = after("node/")) {
    if (node->find('/') != std::string::npos) return std::nullopt;
    return Parsed{Parsed::Kind::node, {}, *node};
  }
  if (auto obs = after("obs/")) {
    const auto slash = obs->rfind('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == obs->size()) return std::nullopt;
    return Parsed{Parsed::Kind::observation, obs->substr(0, slash), obs->substr(slash + 1)};
  }
  if (auto ov = after("override/")) return Parsed{Parsed::Kind::override_key, *ov, {}};
  return std::nullopt;
}

}  // namespace meridian::cluster
