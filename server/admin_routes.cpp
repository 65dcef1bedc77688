#include "admin_routes.hpp"

#include <boost/asio/ip/address.hpp>

#include <charconv>
#include <cstring>

#include "admin/observed_state.hpp"
#include "dns/name.hpp"
#include "query/service_lookup.hpp"
#include "routing/explain.hpp"

namespace meridian::cli {

namespace {

admin::ObservedState observe(RunningServer& r) {
  admin::ObservedState s;
  s.dns = r.dns.stats().totals();
  const runtime::LoadedState current = r.state.current();
  s.snapshot = current.snapshot;
  s.overrides = current.health->overrides();
  s.health = r.health.entries();
  s.checks = r.checks.stats();
  s.reload = r.state.reload_status();
  s.ready = r.listeners_up.load() && (!r.ready_after_checks || r.checks.all_have_results());
  if (r.forward_metrics) s.forward_metrics = r.forward_metrics();
  if (r.forward_status) s.forward_status = r.forward_status();
  return s;
}

bool parse_address(const std::string& text, int& family, uint8_t* out) {
  boost::system::error_code ec;
  const auto a = boost::asio::ip::make_address(text, ec);
  if (ec) return false;
  family = a.is_v4() ? 4 : 6;
  if (a.is_v4()) {
    const auto b = a.to_v4().to_bytes();
    std::memcpy(out, b.data(), 4);
  } else {
    const auto b = a.to_v6().to_bytes();
    std::memcpy(out, b.data(), 16);
  }
  return true;
}

admin::Response explain_route(RunningServer& r, const admin::Request& req) {
  auto param = [&](const char* k) {
    const auto it = req.query.find(k);
    return it == req.query.end() ? std::string() : it->second;
  };
  const std::string name = param("name");
  const std::string client = param("client");
  if (name.empty() || client.empty()) return {400, "text/plain", "usage: /explain?name=NAME&client=IP[&ecs=CIDR][&type=A|AAAA]\n"};
  const auto wire = dns::name_from_text(name.back() == '.' ? name : name + ".");
  if (!wire) return {400, "text/plain", "bad name\n"};
  const auto snapshot = r.state.current().snapshot;
  if (!snapshot->routing) return {404, "text/plain", "no services configured\n"};
  const auto found = query::find_service(*snapshot->zones, dns::fold_wire_name(*wire));
  if (found.service < 0) return {404, "text/plain", found.error + "\n"};
  routing::ExplainRequest er;
  er.service = found.service;
  er.qtype = param("type") == "AAAA" ? 28 : 1;
  er.client_text = client;
  if (!parse_address(client, er.client.family, er.client.address)) return {400, "text/plain", "bad client address\n"};
  const std::string ecs = param("ecs");
  if (!ecs.empty()) {
    const auto slash = ecs.find('/');
    int family = 4;
    uint8_t addr[16] = {};
    unsigned prefix = 0;
    const std::string len = slash == std::string::npos ? "" : ecs.substr(slash + 1);
    const auto [end, err] = std::from_chars(len.data(), len.data() + len.size(), prefix);
    if (slash == std::string::npos || err != std::errc() || end != len.data() + len.size() ||
        !parse_address(ecs.substr(0, slash), family, addr) || prefix > (family == 4 ? 32u : 128u))
      return {400, "text/plain", "bad ecs (ADDRESS/PREFIX)\n"};
    er.client = routing::ecs_client(family, addr, prefix, snapshot->routing->services().ecs);
    er.ecs_prefix = static_cast<int>(prefix);
  }
  return {200, "application/json", routing::explain(*snapshot->routing, er).dump(2) + "\n"};
}

}  // namespace

void add_admin_routes(admin::AdminServer& server, RunningServer& r) {
  server.route("/healthz", [](const admin::Request&) { return admin::Response{200, "text/plain", "ok\n"}; });
  server.route("/readyz", [&r](const admin::Request&) {
    const bool ready = r.listeners_up.load() && (!r.ready_after_checks || r.checks.all_have_results());
    return ready ? admin::Response{200, "text/plain", "ready\n"} : admin::Response{503, "text/plain", "not ready\n"};
  });
  server.route("/metrics", [&r](const admin::Request&) {
    return admin::Response{200, "text/plain; version=0.0.4; charset=utf-8", admin::render_metrics(observe(r))};
  });
  server.route("/status", [&r](const admin::Request&) {
    return admin::Response{200, "application/json", admin::render_status(observe(r)).dump(2) + "\n"};
  });
  server.route("/explain", [&r](const admin::Request& req) { return explain_route(r, req); });
}

}  // namespace meridian::cli
