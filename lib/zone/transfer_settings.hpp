// A zone file's "transfer" object (README "Zone files"): who may transfer the
// zone (sources, and the TSIG key an entry requires), whom to NOTIFY when its
// serial changes, and what dynamic names become in a transfer. Read by the zone
// loader; used by lib/transfer.
#pragma once
#include <string>
#include <vector>

#include "util/host_port.hpp"
#include "util/ip_address.hpp"

namespace meridian::zone {

struct TransferSettings {
  struct Allow {
    util::IpNetwork net;
    std::string key;  // TSIG key name, lower case with a final dot; empty: no key needed
  };
  enum class Dynamic { fallback, omit, refuse };

  bool configured = false;  // the zone file has "transfer": otherwise every transfer is refused
  std::vector<Allow> allow;
  std::vector<util::HostPort> notify;
  Dynamic dynamic = Dynamic::fallback;
};

}  // namespace meridian::zone
