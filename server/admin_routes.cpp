#include "admin_routes.hpp"

#include "admin/observed_state.hpp"
#include "admin/reload_report.hpp"
#include "admin/status_page.hpp"
#include "dns/name.hpp"
#include "query/service_lookup.hpp"
#include "routing/explain.hpp"

namespace meridian::cli {

namespace {

bool ready(const RunningServer& r) {
  return r.listeners_up.load() && (!r.ready_after_checks || r.checks.all_have_results());
}

admin::ObservedState observe(RunningServer& r) {
  admin::ObservedState s;
  s.dns = r.dns.stats().totals();
  s.tcp_refused_max_per_client = r.dns.tcp().refused_per_client();
  s.tcp_refused_max_connections = r.dns.tcp().refused_max_connections();
  const runtime::LoadedState current = r.state.current();
  s.snapshot = current.snapshot;
  s.zone_reports = current.zone_reports;
  s.overrides = current.health->overrides();
  s.health = r.health.entries();
  s.checks = r.checks.stats();
  s.reload = r.state.reload_status();
  s.ready = ready(r);
  if (r.forward_metrics) s.forward_metrics = r.forward_metrics();
  if (r.forward_status) s.forward_status = r.forward_status();
  if (r.cluster_metrics) s.cluster_metrics = r.cluster_metrics();
  if (r.cluster_status) s.cluster_status = r.cluster_status();
  return s;
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
  if (const std::string problem = routing::set_explain_client(er, client, param("ecs"), snapshot->routing->services().ecs);
      !problem.empty())
    return {400, "text/plain", problem + "\n"};
  return {200, "application/json", routing::explain(*snapshot->routing, er).dump(2) + "\n"};
}

}  // namespace

void add_admin_routes(admin::AdminServer& server, RunningServer& r) {
  // `/` in a browser: the status page, which renders /status every few seconds.
  server.page(admin::status_page_html());
  // The probes answer without the token: a liveness or readiness probe has none.
  server.route("/healthz", [](const admin::Request&) { return admin::Response{200, "text/plain", "ok\n"}; },
               {.description = "liveness: 200 while the process serves HTTP", .open = true});
  server.route("/readyz", [&r](const admin::Request&) {
    // Zones are loaded before the listeners come up.
    return ready(r) ? admin::Response{200, "text/plain", "ready\n"} : admin::Response{503, "text/plain", "not ready\n"};
  }, {.description = "readiness: 200 once zones are loaded and every listener is up", .open = true});
  server.route("/metrics", [&r](const admin::Request&) {
    return admin::Response{200, "text/plain; version=0.0.4; charset=utf-8", admin::render_metrics(observe(r))};
  }, {.description = "Prometheus metrics"});
  server.route("/status", [&r](const admin::Request&) {
    return admin::Response{200, "application/json", admin::render_status(observe(r)).dump(2) + "\n"};
  }, {.description = "zones, services, health, overrides, the last reload (JSON)"});
  server.route("/explain", [&r](const admin::Request& req) { return explain_route(r, req); },
               {.description = "?name=NAME&client=IP[&ecs=CIDR][&type=A|AAAA]: how a name is answered (JSON)"});
  server.route_async("/reload", [&r](const admin::Request&, admin::Reply reply) {
    if (!r.request_reload) return reply({503, "text/plain", "reloads are not running yet\n"});
    r.request_reload("admin", [reply](const runtime::ReloadOutcome& outcome) {
      // 422: the files are invalid and the previous state keeps serving.
      reply({outcome.ok ? 200u : 422u, "application/json", admin::reload_report(outcome).dump(2) + "\n"});
    });
  }, {.description = "reload every file now; answers when done, with the result (JSON)", .post = true,
      .deadline = kReloadDeadline});
}

}  // namespace meridian::cli
