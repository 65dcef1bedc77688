#include "zone/json_zone.hpp"

#include <algorithm>
#include <limits>
#include <unordered_set>

#include "config/json_object_reader.hpp"
#include "dns/constants.hpp"
#include "dns/name.hpp"
#include "zone/rdata_codec.hpp"

namespace meridian::zone {

namespace {

using nlohmann::json;
using Pointer = json::json_pointer;

constexpr uint32_t kMaxTtl = 0x7FFFFFFF;  // RFC 2181 section 8
constexpr uint32_t kDefaultTtl = 3600;

class ZoneBuilder : private config::JsonErrorSink {
 public:
  ZoneBuilder(const config::JsonSource& src, config::Diagnostics& diags) : src_(src), diags_(diags) {}

  std::unique_ptr<Zone> build() {
    config::JsonObjectReader root(src_.root(), Pointer(), *this);
    if (!root.is_object()) return fail(Pointer(), "a zone file must hold a JSON object");
    // Every top-level key is taken before the first early return, so unknown keys are always reported.
    const std::string origin_problem = "\"origin\" must be a domain name string such as \"example.com.\"";
    std::string origin_text;
    const bool has_origin =
        root.string("origin", origin_text, config::KeyRules::required(origin_problem, origin_problem));
    default_ttl_ = kDefaultTtl;
    root.integer("ttl", default_ttl_, 0, kMaxTtl, kTtlProblem);
    const json* soa = root.find("soa");
    const json* records = root.object("records", config::KeyRules::optional("\"records\" must be an object of names"));
    root.report_unknown_keys();
    if (!has_origin) return nullptr;
    if (origin_text.empty() || origin_text.back() != '.') origin_text += '.';
    const auto origin = dns::name_from_text(origin_text);
    if (!origin) return fail(Pointer("/origin"), "\"origin\" is not a valid domain name");
    origin_ = dns::fold_wire_name(*origin);
    zone_ = std::make_unique<Zone>(origin_, src_.path());

    if (soa) load_soa(*soa);
    if (records) {
      for (const auto& [name, types] : records->items()) {
        if (errors_ > kReportedErrors) break;  // the file needs fixing first; the rest would only repeat
        load_name(name, types, Pointer("/records") / name);
      }
    }
    check_zone_rules();
    const std::string problem = zone_->finalize();
    if (!problem.empty()) error(Pointer(), problem);
    if (errors_) return nullptr;
    return std::move(zone_);
  }

 private:
  std::unique_ptr<Zone> fail(const Pointer& at, const std::string& message) {
    error(at, message);
    return nullptr;
  }
  // Each error is located by a scan of the file's text: a few hundred would be
  // quadratic in a big zone (a generator gone wrong), so past kReportedErrors
  // one line says there are more.
  static constexpr unsigned kReportedErrors = 100;
  void error(const Pointer& at, const std::string& message, bool key = false) {
    ++errors_;
    if (errors_ <= kReportedErrors)
      diags_.add(src_.error_at(at, message, key));
    else if (errors_ == kReportedErrors + 1)
      diags_.add(src_.error_at(Pointer(), "more errors follow; the first " + std::to_string(kReportedErrors) +
                                              " are listed above"));
  }

  // The readers of the zone's objects report through error(), and so are capped too.
  void report(const Pointer& at, const std::string& message, bool at_key) override { error(at, message, at_key); }

  static inline const config::KeyRules kTtlProblem =
      config::KeyRules::optional("a TTL must be an integer from 0 to 2147483647");

  void load_soa(const json& value) {
    config::JsonObjectReader soa(value, Pointer("/soa"), *this);
    if (!soa.is_object()) {
      soa.error("\"soa\" must be an object with mname, rname, serial, refresh, retry, expire, minimum");
      return;
    }
    static const char* const kFields[] = {"mname", "rname", "serial", "refresh", "retry", "expire", "minimum"};
    std::string text;
    for (const char* field : kFields) {
      const json* v =
          soa.find(field, config::KeyRules::required(std::string("\"soa\" is missing \"") + field + "\""));
      if (!v) return;
      const bool is_name = std::string_view(field) == "mname" || std::string_view(field) == "rname";
      if (v->is_string()) text += v->get<std::string>();
      else if (v->is_number_unsigned() && is_name) {
        soa.error(field, std::string("\"") + field + "\" must be a domain name");
        return;
      } else if (v->is_number_unsigned() && v->get<uint64_t>() <= 0xFFFFFFFFull) text += std::to_string(v->get<uint64_t>());
      else if (v->is_number_unsigned()) {
        soa.error(field, std::string("\"") + field + "\" must fit in 32 bits (0 to 4294967295)");
        return;
      }
      else {
        soa.error(field, std::string("\"") + field + "\" must be a string or a non-negative number");
        return;
      }
      text += ' ';
    }
    uint32_t ttl = default_ttl_;
    const bool ttl_ok = soa.integer("ttl", ttl, 0, kMaxTtl, kTtlProblem);
    soa.report_unknown_keys();
    if (!ttl_ok) return;
    add_rdata(zone_->node_for(origin_), dns::type::SOA, ttl, text, soa.pointer());
  }

  void load_name(const std::string& name_text, const json& types, const Pointer& at) {
    auto name = dns::name_from_text(name_text, origin_);
    if (!name) {
      error(at, "\"" + name_text + "\" is not a valid domain name", true);
      return;
    }
    const std::string owner = dns::fold_wire_name(*name);
    if (!dns::is_subdomain(owner, origin_)) {
      error(at, "\"" + name_text + "\" is not inside the zone " + dns::name_to_text(origin_), true);
      return;
    }
    if (!types.is_object()) {
      error(at, "a name maps to an object of record types, e.g. {\"A\": \"192.0.2.1\"}");
      return;
    }
    Node& node = zone_->node_for(owner);
    for (const auto& [type_text, value] : types.items()) {
      const Pointer vat = at / type_text;
      if (type_text == "service") {
        if (!value.is_string() || value.get<std::string>().empty()) {
          error(vat, "\"service\" names a service defined in meridian.json");
          continue;
        }
        node.service = value.get<std::string>();
        continue;
      }
      const auto type = rr_type_from_name(type_text);
      if (!type) {
        error(vat, "unknown record type \"" + type_text + "\"", true);
        continue;
      }
      if (!storable_type(*type)) {
        error(vat, "record type " + type_text + " cannot be stored in a zone", true);
        continue;
      }
      if (*type == dns::type::SOA && owner != origin_) {
        error(vat, "SOA is only allowed at the apex", true);
        continue;
      }
      if (*type == dns::type::SOA && node.find(dns::type::SOA)) {
        error(vat, "the SOA is given twice (in \"soa\" and in records)", true);
        continue;
      }
      uint32_t ttl = default_ttl_;
      const json* data = &value;
      Pointer data_at = vat;
      if (value.is_object()) {
        config::JsonObjectReader record(value, vat, *this);
        const bool ttl_ok = record.integer("ttl", ttl, 0, kMaxTtl, kTtlProblem);
        data = record.find("data", config::KeyRules::required());
        record.report_unknown_keys();
        if (!ttl_ok || !data) continue;
        data_at = vat / "data";
      }
      if (data->is_string()) {
        add_rdata(node, *type, ttl, data->get<std::string>(), data_at);
      } else if (data->is_array() && !data->empty()) {
        for (std::size_t i = 0; i < data->size(); ++i) {
          const json& item = (*data)[i];
          if (!item.is_string()) {
            error(data_at / std::to_string(i), "record data must be a string in presentation format");
            continue;
          }
          add_rdata(node, *type, ttl, item.get<std::string>(), data_at / std::to_string(i));
        }
      } else {
        error(data_at, "record data must be a string or a non-empty array of strings");
      }
    }
    positions_.emplace_back(owner, at);
  }

  void add_rdata(Node& node, uint16_t type, uint32_t ttl, const std::string& text, const Pointer& at) {
    ParsedRdata parsed = parse_rdata(type, text, node.name, origin_);
    if (!parsed.error.empty()) {
      error(at, parsed.error);
      return;
    }
    auto it = std::find_if(node.rrsets.begin(), node.rrsets.end(), [&](const RRset& r) { return r.type == type; });
    if (it == node.rrsets.end()) {
      node.rrsets.push_back(RRset{type, ttl, {}, {}});
      it = node.rrsets.end() - 1;
    }
    // Duplicate records in an RRset are dropped (RFC 2181 section 5).
    for (const auto& existing : it->rdata)
      if (existing.wire == parsed.rdata.wire) return;
    if ((type == dns::type::CNAME || type == dns::type::DNAME) && !it->rdata.empty()) {
      error(at, type == dns::type::CNAME ? "a name can have only one CNAME" : "a name can have only one DNAME");
      return;
    }
    it->rdata.push_back(std::move(parsed.rdata));
  }

  // Rules across records: CNAME exclusivity, services, data at and below cuts.
  // Data the parent cannot serve (occluded by a delegation, RFC 2181 6) is
  // dropped with a warning, as BIND, Knot and NSD load such zones.
  void check_zone_rules() {
    std::unordered_set<std::string_view> checked;  // "www" and "www.example.com." are one node
    for (const auto& [owner, at] : positions_) {
      if (!checked.insert(owner).second) continue;
      Node& node = zone_->node_for(owner);
      // For every name, occluded or not: Knot and BIND refuse these too.
      if (node.find(dns::type::CNAME) && (node.rrsets.size() > 1 || !node.service.empty()))
        error(at, "a CNAME cannot coexist with other data at the same name (RFC 1034 3.6.2)", true);
      if (owner != origin_) {
        const std::string_view cut = cut_above(owner);
        if (!cut.empty()) {
          check_below_cut(node, cut, at);
          continue;  // never served: the rules for authoritative data do not apply
        }
        if (node.find(dns::type::NS)) check_at_cut(node, at);
      }
      if (!node.service.empty() && (node.find(dns::type::A) || node.find(dns::type::AAAA)))
        error(at, "a name with a \"service\" gets its A/AAAA from the service; remove the static A/AAAA", true);
      // Names below a DNAME are redirected, so data there could never be served.
      if (owner != origin_ && !node.empty()) {
        for (std::string_view up = owner; up.size() > origin_.size();) {
          up = dns::parent_name(up);
          const Node* ancestor = zone_->find(up);
          if (ancestor && ancestor->find(dns::type::DNAME)) {
            error(at, "no data may sit below the DNAME at " + dns::name_to_text(up) + " (RFC 6672 2.3)", true);
            break;
          }
        }
      }
    }
  }

  // The topmost zone cut strictly above owner, or empty: that cut occludes owner
  // (a cut below it is occluded itself).
  std::string_view cut_above(std::string_view owner) const {
    std::string_view topmost;
    for (std::string_view up = dns::parent_name(owner); up.size() > origin_.size(); up = dns::parent_name(up)) {
      const Node* ancestor = zone_->find(up);
      if (ancestor && ancestor->find(dns::type::NS)) topmost = up;
    }
    return topmost;
  }

  static bool is_address(uint16_t type) { return type == dns::type::A || type == dns::type::AAAA; }

  // Removes the RRsets `keep` rejects and returns their type names ("CNAME, TXT").
  template <typename Keep> static std::string drop_rrsets(Node& node, Keep keep) {
    std::string dropped;
    std::erase_if(node.rrsets, [&](const RRset& r) {
      if (keep(r.type)) return false;
      dropped += (dropped.empty() ? "" : ", ") + rr_type_name(r.type);
      return true;
    });
    return dropped;
  }

  // At a cut the parent holds NS, DS and glue addresses (whether or not an NS
  // names the cut itself: RFC 9471); anything else belongs to the child.
  void check_at_cut(Node& node, const Pointer& at) {
    if (!node.service.empty()) error(at, "a delegation point cannot have a service", true);
    const std::string dropped = drop_rrsets(node, [](uint16_t t) {
      return t == dns::type::NS || t == dns::type::DS || is_address(t);
    });
    if (!dropped.empty())
      warning(at, dropped + " at the delegation point " + dns::name_to_text(node.name) +
                      " is never served (occluded: only NS, DS and glue A/AAAA are)");
  }

  // Below a cut only glue addresses are used, as additional data of referrals.
  void check_below_cut(Node& node, std::string_view cut, const Pointer& at) {
    if (!node.service.empty())
      error(at, "below the delegation at " + dns::name_to_text(cut) + " a service is not allowed", true);
    const std::string dropped = drop_rrsets(node, is_address);
    if (!dropped.empty())
      warning(at, dropped + " at " + dns::name_to_text(node.name) + " is below the delegation at " +
                      dns::name_to_text(cut) + " and is never served (occluded)");
  }

  // Capped like errors: each is located by a scan of the text.
  void warning(const Pointer& at, const std::string& message) {
    ++warnings_;
    if (warnings_ <= kReportedErrors)
      diags_.add_warning(src_.error_at(at, message, true));
    else if (warnings_ == kReportedErrors + 1)
      diags_.add_warning(src_.error_at(Pointer(), "more occluded names follow; the first " +
                                                      std::to_string(kReportedErrors) + " are listed above"));
  }

  const config::JsonSource& src_;
  config::Diagnostics& diags_;
  std::unique_ptr<Zone> zone_;
  std::string origin_;
  uint32_t default_ttl_ = kDefaultTtl;
  unsigned errors_ = 0;
  unsigned warnings_ = 0;
  std::vector<std::pair<std::string, Pointer>> positions_;
};

}  // namespace

std::unique_ptr<Zone> load_json_zone(const config::JsonSource& source, config::Diagnostics& diagnostics) {
  return ZoneBuilder(source, diagnostics).build();
}

std::unique_ptr<Zone> load_json_zone_file(const std::string& path, config::Diagnostics& diagnostics) {
  try {
    return load_json_zone(config::JsonSource::load_file(path), diagnostics);
  } catch (const config::LoadError& e) {
    diagnostics.append(e.diagnostics());
    return nullptr;
  }
}

}  // namespace meridian::zone
