// HostPort moved to util/host_port.hpp. These names stay until the last users
// (routing/service_loader.cpp, forward/settings.cpp, forward/forwarding_tier.cpp)
// include util/host_port.hpp; then this header goes.
#pragma once
#include "util/host_port.hpp"

namespace meridian::net {

using util::HostPort;
using util::parse_host_port;

}  // namespace meridian::net
