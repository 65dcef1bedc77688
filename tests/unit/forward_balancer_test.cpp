// Balancing algorithms: distribution, weights, eligibility, hash stability.
#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

#include "forward/balancer/balancer.hpp"
#include "forward/balancer/consistent_hash.hpp"

using namespace meridian::forward;

namespace {

std::vector<Candidate> cands(const std::vector<uint32_t>& weights) {
  std::vector<Candidate> c;
  for (auto w : weights) c.push_back({w, 0, true});
  return c;
}

std::unique_ptr<Balancer> make(Algorithm a, const std::vector<uint32_t>& weights, unsigned vnodes = 160) {
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < weights.size(); ++i) ids.push_back("10.0.0." + std::to_string(i + 1) + ":80");
  BalanceSettings s;
  s.algorithm = a;
  s.vnodes = vnodes;
  return make_balancer(s, ids, weights);
}

std::vector<double> shares(Balancer& b, std::vector<Candidate> c, int picks, bool add_load = false) {
  std::vector<double> n(c.size(), 0);
  for (int i = 0; i < picks; ++i) {
    const int k = b.pick(c, mix64(uint64_t(i)));
    REQUIRE(k >= 0);
    n[static_cast<std::size_t>(k)] += 1;
    if (add_load) ++c[static_cast<std::size_t>(k)].load;
  }
  for (auto& x : n) x = 100.0 * x / picks;
  return n;
}

}  // namespace

TEST_CASE("round robin spreads evenly and skips ineligible backends") {
  auto b = make(Algorithm::round_robin, {1, 1, 1});
  auto s = shares(*b, cands({1, 1, 1}), 9999);
  for (double x : s) CHECK(x == doctest::Approx(33.33).epsilon(0.01));
  auto c = cands({1, 1, 1});
  c[1].eligible = false;
  for (int i = 0; i < 10; ++i) CHECK(b->pick(c, 0) != 1);
  for (auto& x : c) x.eligible = false;
  CHECK(b->pick(c, 0) == -1);
}

TEST_CASE("smooth weighted round robin follows weights within 2 points and interleaves") {
  auto b = make(Algorithm::weighted_round_robin, {5, 3, 2});
  auto s = shares(*b, cands({5, 3, 2}), 10000);
  CHECK(std::abs(s[0] - 50) <= 2);
  CHECK(std::abs(s[1] - 30) <= 2);
  CHECK(std::abs(s[2] - 20) <= 2);
  // nginx's example: weights 5,1,1 give a a b a c a a
  auto w = make(Algorithm::weighted_round_robin, {5, 1, 1});
  auto c = cands({5, 1, 1});
  std::string seq;
  for (int i = 0; i < 7; ++i) seq += char('a' + w->pick(c, 0));
  CHECK(seq == "aabacaa");
  // weight 0 is drained
  auto d = make(Algorithm::weighted_round_robin, {1, 0});
  for (int i = 0; i < 5; ++i) CHECK(d->pick(cands({1, 0}), 0) == 0);
}

TEST_CASE("least connections picks the least loaded; weighted divides by weight") {
  auto b = make(Algorithm::least_conn, {1, 1, 1});
  std::vector<Candidate> c = {{1, 3, true}, {1, 1, true}, {1, 2, true}};
  CHECK(b->pick(c, 0) == 1);
  c[1].eligible = false;
  CHECK(b->pick(c, 0) == 2);
  // equal loads rotate
  std::map<int, int> seen;
  auto e = cands({1, 1, 1});
  for (int i = 0; i < 30; ++i) ++seen[b->pick(e, 0)];
  CHECK(seen.size() == 3);

  auto w = make(Algorithm::weighted_least_conn, {4, 1});
  std::vector<Candidate> wc = {{4, 2, true}, {1, 1, true}};
  CHECK(w->pick(wc, 0) == 0);  // 2/4 < 1/1
  // filling up: picks end proportional to weight
  auto s = shares(*w, cands({3, 1}), 10000, true);
  CHECK(std::abs(s[0] - 75) <= 2);
  CHECK(std::abs(s[1] - 25) <= 2);
}

TEST_CASE("ip hash is sticky and spreads keys") {
  auto b = make(Algorithm::ip_hash, {1, 1, 1});
  auto c = cands({1, 1, 1});
  const uint64_t key = hash_bytes(std::string("\x0a\x00\x00\x07", 4));
  const int first = b->pick(c, key);
  for (int i = 0; i < 10; ++i) CHECK(b->pick(c, key) == first);
  auto s = shares(*b, c, 10000);
  for (double x : s) CHECK(std::abs(x - 33.33) <= 2);
  c[static_cast<std::size_t>(first)].eligible = false;
  const int moved = b->pick(c, key);
  CHECK(moved != first);
  CHECK(moved >= 0);
}

TEST_CASE("consistent hash moves only the keys of a backend that leaves, and they return") {
  const int n = 5, keys = 10000;
  auto b = make(Algorithm::consistent_hash, {1, 1, 1, 1, 1});
  auto c = cands({1, 1, 1, 1, 1});
  std::vector<int> before(keys);
  std::vector<int> count(n, 0);
  for (int k = 0; k < keys; ++k) ++count[static_cast<std::size_t>(before[static_cast<std::size_t>(k)] = b->pick(c, mix64(uint64_t(k) + 77)))];
  for (int x : count) {  // 160 vnodes: every backend near 1/5
    CHECK(x > keys / n * 0.75);
    CHECK(x < keys / n * 1.25);
  }
  // backend 2 becomes ineligible: only its keys move
  c[2].eligible = false;
  int moved = 0;
  for (int k = 0; k < keys; ++k) {
    const int now = b->pick(c, mix64(uint64_t(k) + 77));
    CHECK(now != 2);
    if (now != before[static_cast<std::size_t>(k)]) {
      ++moved;
      CHECK(before[static_cast<std::size_t>(k)] == 2);
    }
  }
  CHECK(moved == count[2]);
  CHECK(moved <= keys / n * 1.25);
  // it returns: every key goes back
  c[2].eligible = true;
  for (int k = 0; k < keys; ++k) CHECK(b->pick(c, mix64(uint64_t(k) + 77)) == before[static_cast<std::size_t>(k)]);

  // removed from the configuration (ring rebuilt without it): the same keys move
  std::vector<std::string> ids = {"10.0.0.1:80", "10.0.0.2:80", "10.0.0.4:80", "10.0.0.5:80"};
  ConsistentHash smaller(ids, {1, 1, 1, 1}, 160);
  auto c4 = cands({1, 1, 1, 1});
  const int map_back[] = {0, 1, 3, 4};
  int moved2 = 0;
  for (int k = 0; k < keys; ++k) {
    const int now = map_back[smaller.pick(c4, mix64(uint64_t(k) + 77))];
    if (now != before[static_cast<std::size_t>(k)]) ++moved2;
  }
  CHECK(moved2 == count[2]);
}

TEST_CASE("consistent hash vnodes scale with weight") {
  auto b = make(Algorithm::consistent_hash, {3, 1});
  auto s = shares(*b, cands({3, 1}), 10000);
  CHECK(std::abs(s[0] - 75) <= 5);
  ConsistentHash ring({"a", "b"}, {1, 1}, 160);
  CHECK(ring.ring_size() == 320);
}

TEST_CASE("power of two choices prefers the lighter of two and spreads equal loads") {
  auto b = make(Algorithm::p2c, {1, 1});
  std::vector<Candidate> c = {{1, 10, true}, {1, 0, true}};
  for (int i = 0; i < 20; ++i) CHECK(b->pick(c, 0) == 1);
  auto e = make(Algorithm::p2c, {1, 1, 1, 1});
  auto s = shares(*e, cands({1, 1, 1, 1}), 10000);
  for (double x : s) CHECK(std::abs(x - 25) <= 2);
  // with load feedback it stays balanced
  auto f = make(Algorithm::p2c, {1, 1, 1});
  auto s2 = shares(*f, cands({1, 1, 1}), 9000, true);
  for (double x : s2) CHECK(std::abs(x - 33.33) <= 2);
  std::vector<Candidate> one = {{1, 0, false}, {1, 5, true}};
  CHECK(b->pick(one, 0) == 1);
}
