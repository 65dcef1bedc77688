// Client keys ("EU", "country:IE", "net:10.0.0.0/8", ...) parsed for a test; a
// key that does not parse fails the test.
#pragma once
#include <doctest/doctest.h>

#include <initializer_list>
#include <string>
#include <vector>

#include "routing/client_key.hpp"

namespace meridian::test {

inline std::vector<routing::ClientKey> keys_of(std::initializer_list<const char*> texts) {
  std::vector<routing::ClientKey> keys;
  for (const char* t : texts) {
    std::string err;
    auto k = routing::parse_client_key(t, err);
    REQUIRE_MESSAGE(k, err);
    keys.push_back(*k);
  }
  return keys;
}

}  // namespace meridian::test
