#include "zone/json_zone.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <limits>
#include <optional>
#include <sstream>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "config/json_object_reader.hpp"
#include "config/path.hpp"
#include "dnssec/keys.hpp"
#include "dns/constants.hpp"
#include "dns/name.hpp"
#include "util/file_text.hpp"
#include "zone/rdata_codec.hpp"

namespace meridian::zone {

namespace {

using nlohmann::json;
using Pointer = json::json_pointer;
using NameId = ZoneBuild::NameId;

constexpr uint32_t kMaxTtl = 0x7FFFFFFF;  // RFC 2181 section 8
constexpr uint32_t kDefaultTtl = 3600;
// An RRset that takes the zone's "ttl", which may come later in the file.
constexpr uint32_t kZoneTtl = 0xFFFFFFFF;
constexpr std::size_t kNowhere = std::string::npos;

// A char iterator that tells how far nlohmann's lexer has read: at each SAX event
// the token just read ends at *cursor (numbers: one byte later, the lexer reads
// the byte after a number before it knows the number ended).
class CursorIterator {
 public:
  using iterator_category = std::forward_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  CursorIterator(const char* at, const char** cursor) : at_(at), cursor_(cursor) {}
  reference operator*() const { return *at_; }
  CursorIterator& operator++() {
    *cursor_ = ++at_;
    return *this;
  }
  CursorIterator operator++(int) {
    CursorIterator before = *this;
    ++*this;
    return before;
  }
  bool operator==(const CursorIterator& other) const { return at_ == other.at_; }

 private:
  const char* at_;
  const char** cursor_;
};

// Where a value (and the key naming it) starts in the text.
struct Spot {
  std::size_t key = kNowhere;
  std::size_t value = kNowhere;
};

// One JSON value built from SAX events (a name's object of types, the "soa"), with
// the offset of every value and key in it, found by JSON pointer relative to the
// value. Each value's place is its parent and its token, so that nothing but the
// value itself is built per event (paths are followed only for an error).
class Capture {
 public:
  void begin(std::size_t key_at) {
    root_ = json();
    stack_.clear();
    spots_.clear();
    key_at_ = key_at;
  }
  // A value starts at offset `at`; returns it (containers: filled by later events).
  json& place(json value, std::size_t at) {
    std::size_t key_at = key_at_;
    json* slot = &root_;
    Placed placed;
    if (!stack_.empty()) {
      Frame& top = stack_.back();
      placed.parent = static_cast<int>(top.spot);
      if (top.value->is_object()) {
        placed.token = top.key;
        key_at = top.key_at;
        slot = &(*top.value)[top.key];
      } else {
        placed.token = std::to_string(top.value->size());
        key_at = at;
        top.value->push_back(json());
        slot = &top.value->back();
      }
    }
    *slot = std::move(value);
    placed.spot = {key_at, at};
    spots_.push_back(std::move(placed));
    return *slot;
  }
  void open(json value, std::size_t at) {
    json& placed = place(std::move(value), at);
    stack_.push_back({&placed, spots_.size() - 1, {}, kNowhere});
  }
  // False when the key is already in the object being built.
  bool key(const std::string& key, std::size_t at) {
    Frame& top = stack_.back();
    top.key = key;
    top.key_at = at;
    return !top.value->contains(key);
  }
  void close() { stack_.pop_back(); }
  bool complete() const { return stack_.empty(); }
  json& value() { return root_; }
  std::size_t root_at() const { return spots_.empty() ? kNowhere : spots_.front().spot.value; }

  // The spot of the value at path (tokens[from..] relative to this value); for a
  // path the value does not have, its nearest ancestor's value (as JsonSource::locate).
  std::size_t locate(const std::vector<std::string>& tokens, std::size_t from, bool key) const {
    for (std::size_t n = tokens.size(); n + 1 > from; --n) {
      for (const Placed& p : spots_)
        if (is_at(p, tokens, from, n)) return key && n == tokens.size() ? p.spot.key : p.spot.value;
      if (n == from) break;
    }
    return spots_.empty() ? kNowhere : spots_.front().spot.value;
  }

 private:
  struct Placed {
    int parent = -1;    // index in spots_; -1: the root
    std::string token;  // in the parent: a key, or an array index
    Spot spot;
  };
  // Whether p's path from the root is tokens[from..n).
  bool is_at(const Placed& p, const std::vector<std::string>& tokens, std::size_t from, std::size_t n) const {
    const Placed* at = &p;
    for (std::size_t i = n; i > from; --i) {
      if (at->parent < 0 || at->token != tokens[i - 1]) return false;
      at = &spots_[static_cast<std::size_t>(at->parent)];
    }
    return at->parent < 0;
  }
  struct Frame {
    json* value;
    std::size_t spot;
    std::string key;
    std::size_t key_at;
  };
  json root_;
  std::vector<Frame> stack_;
  std::vector<Placed> spots_;
  std::size_t key_at_ = kNowhere;
};

std::vector<std::string> tokens_of(const Pointer& pointer) {
  std::vector<std::string> tokens;
  for (auto p = pointer; !p.empty(); p = p.parent_pointer()) tokens.insert(tokens.begin(), p.back());
  return tokens;
}

// The zone's origin from the "origin" value, or nullopt when it is not a valid name.
std::optional<std::string> origin_wire(const json& value) {
  if (!value.is_string()) return std::nullopt;
  std::string text = value.get<std::string>();
  if (text.empty() || text.back() != '.') text += '.';
  const auto wire = dns::name_from_text(text);
  if (!wire) return std::nullopt;
  return dns::fold_wire_name(*wire);
}

// Finds the top-level "origin" when "records" comes before it in the file.
class OriginScan final : public nlohmann::json_sax<json> {
 public:
  std::optional<json> origin;

  bool null() override { return value(json()); }
  bool boolean(bool v) override { return value(v); }
  bool number_integer(number_integer_t v) override { return value(v); }
  bool number_unsigned(number_unsigned_t v) override { return value(v); }
  bool number_float(number_float_t v, const string_t&) override { return value(v); }
  bool string(string_t& v) override { return value(v); }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return open(); }
  bool start_array(std::size_t) override { return open(); }
  bool end_object() override { return --depth_, true; }
  bool end_array() override { return --depth_, true; }
  bool key(string_t& k) override {
    origin_next_ = depth_ == 1 && k == "origin";
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

 private:
  bool value(json v) {
    if (origin_next_ && depth_ == 1) origin = std::move(v);  // the last one, as nlohmann keeps
    origin_next_ = false;
    return true;
  }
  bool open() {
    origin_next_ = false;
    ++depth_;
    return true;
  }
  int depth_ = 0;
  bool origin_next_ = false;
};

class ZoneReader final : public nlohmann::json_sax<json>, private config::JsonErrorSink {
 public:
  // owned_text: the text itself, when the reader may free it once read (before
  // the zone is compiled, which lowers the peak for a large zone).
  ZoneReader(std::string_view text, const std::string& name, config::Diagnostics& diags,
             std::string* owned_text = nullptr)
      : text_(text), file_(name), diags_(diags), cursor_(text.data()), owned_text_(owned_text) {}

  ZoneFile read() {
    const char* begin = text_.data();
    const bool parsed =
        json::sax_parse(CursorIterator(begin, &cursor_), CursorIterator(begin + text_.size(), &cursor_), this);
    if (!parsed) {
      if (syntax_error_) diags_.add(*syntax_error_);
      return {};
    }
    finish();
    publish();
    ZoneFile out;
    if (duplicates_ == 0) out.origin = origin_;  // as for invalid JSON: a key given twice hides which one counts
    if (errors_ > 0 || !zone_) return out;
    // Every position is placed: the text is no longer needed while the zone compiles.
    const config::TextPosition root = position_of(root_at_);
    if (owned_text_) std::string().swap(*owned_text_);
    decltype(positions_)().swap(positions_);  // the reader's own per-name state, likewise
    decltype(last_position_)().swap(last_position_);
    const std::string problem = zone_->finalize();
    if (!problem.empty()) {
      diags_.add(config::Diagnostic{file_, root.line, root.column, problem});
      return out;
    }
    out.zone = std::move(zone_);
    return out;
  }

  // SAX events.
  bool null() override { return scalar(json(), 4); }
  bool boolean(bool v) override { return scalar(v, v ? 4 : 5); }
  bool number_integer(number_integer_t v) override { return scalar(v, number_length()); }
  bool number_unsigned(number_unsigned_t v) override { return scalar(v, number_length()); }
  bool number_float(number_float_t v, const string_t&) override { return scalar(v, number_length()); }
  bool string(string_t& v) override { return scalar(std::move(v), string_length()); }
  bool binary(binary_t&) override { return true; }  // JSON text has none

  bool start_object(std::size_t) override { return open(json::object()); }
  bool start_array(std::size_t) override { return open(json::array()); }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }

  bool key(string_t& key) override {
    if (skipping_) return true;
    const std::size_t at = offset() - string_length();
    if (capturing_) {
      if (!capture_.key(key, at)) duplicate(key, at);
      return true;
    }
    if (depth_ == 1) {
      if (!top_keys_.insert(key).second) duplicate(key, at);
      top_key_ = key;
      top_key_at_ = at;
      if (key == "records") records_.key = at;
    } else {  // a name in "records"
      name_ = key;
      name_at_ = at;
    }
    return true;
  }

  bool parse_error(std::size_t byte, const std::string&, const nlohmann::detail::exception& e) override {
    // byte is 1-based: the byte at which the parser gave up.
    const config::TextPosition p = position_of(byte > 0 ? byte - 1 : 0);
    std::string what = e.what();
    // Drop nlohmann's "[json.exception.parse_error.101] parse error at line 1, column 2: " prefix.
    if (const auto colon = what.find(": "); colon != std::string::npos) what = what.substr(colon + 2);
    syntax_error_ = config::Diagnostic{file_, p.line, p.column, "invalid JSON: " + what};
    return false;
  }

 private:
  std::size_t offset() const { return static_cast<std::size_t>(cursor_ - text_.data()); }
  // The string token that just ended (cursor after its closing quote), quotes included.
  std::size_t string_length() const {
    const std::size_t end = offset();
    std::size_t i = end - 1;  // the closing quote
    while (i > 0) {
      --i;
      if (text_[i] != '"') continue;
      std::size_t backslashes = 0;
      while (i > backslashes && text_[i - 1 - backslashes] == '\\') ++backslashes;
      if (backslashes % 2 == 0) break;
    }
    return end - i;
  }
  std::size_t number_length() const {
    auto is_number_char = [](char c) { return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'; };
    std::size_t end = offset();
    if (end > 0 && !is_number_char(text_[end - 1])) --end;  // the byte that ended the number
    std::size_t start = end;
    while (start > 0 && is_number_char(text_[start - 1])) --start;
    return offset() - start;
  }

  bool scalar(json value, std::size_t length) {
    const std::size_t at = offset() - length;
    if (capturing_) {
      capture_.place(std::move(value), at);
      if (capture_.complete()) captured();
      return true;
    }
    if (skipping_) return true;
    if (depth_ == 0) {  // the whole file is one scalar
      root_at_ = at;
      root_is_object_ = false;
      return true;
    }
    start_capture();
    capture_.place(std::move(value), at);
    captured();
    return true;
  }

  bool open(json container) {
    const std::size_t at = offset() - 1;
    if (capturing_) {
      capture_.open(std::move(container), at);
      return true;
    }
    if (depth_ == 0) {
      root_at_ = at;
      root_is_object_ = container.is_object();
      ++depth_;
      if (!root_is_object_) skipping_ = 1;  // reported at the end; the contents do not matter
      return true;
    }
    if (skipping_) {
      ++skipping_;
      return true;
    }
    if (depth_ == 1 && top_key_ == "records" && container.is_object()) {
      records_.value = at;
      records_is_object_ = true;
      ++depth_;
      begin_records();
      return true;
    }
    start_capture();
    capture_.open(std::move(container), at);
    return true;
  }

  bool close() {
    if (capturing_) {
      capture_.close();
      if (capture_.complete()) captured();
      return true;
    }
    if (skipping_) {
      --skipping_;
      return true;
    }
    --depth_;
    return true;
  }

  void start_capture() {
    capturing_ = true;
    capture_.begin(depth_ == 1 ? top_key_at_ : name_at_);
  }

  // A value at the top level or a name's object in "records" is complete.
  void captured() {
    capturing_ = false;
    if (depth_ == 1) {
      if (top_key_ == "records") {
        records_.value = capture_.root_at();
        records_value_ = std::move(capture_.value());
      } else {
        if (top_key_ == "origin" && !origin_known_) {
          set_origin(capture_.value());
          origin_known_ = true;
        }
                top_values_[top_key_] = std::move(capture_.value());
        top_captures_[top_key_] = std::move(capture_);
        capture_ = Capture();
      }
      return;
    }
    // A name in "records".
    if (!records_usable_ || errors_ > kReportedErrors) return;  // the file needs fixing first
    in_record_ = true;
    load_name(name_, capture_.value(), name_at_);
    in_record_ = false;
  }

  void begin_records() {
    if (!origin_known_) {
      // "records" before "origin": find it first (the file is read twice, rare).
      OriginScan scan;
      json::sax_parse(text_, &scan);
      if (scan.origin) set_origin(*scan.origin);
      origin_known_ = true;
    }
    records_usable_ = !origin_.empty();
    if (records_usable_ && !zone_) {
      zone_ = std::make_unique<Zone>(origin_, file_);
      zone_->build().reserve(text_.size() / 48);  // about the bytes of a name with an address or two
    }
    // The zone's TTL when the file gave it before the records (as usual); else
    // the records wait for the end of the file (it may come later).
    const auto ttl = top_values_.find("ttl");
    if (ttl != top_values_.end() && ttl->second.is_number_unsigned() && ttl->second.get<uint64_t>() <= kMaxTtl)
      zone_ttl_ = static_cast<uint32_t>(ttl->second.get<uint64_t>());
    else
      zone_ttl_.reset();
  }

  void set_origin(const json& value) {
    if (const auto wire = origin_wire(value)) origin_ = *wire;
  }

  config::TextPosition position_of(std::size_t offset) const {
    config::TextPosition p;
    const std::size_t end = std::min(offset, text_.size());
    for (std::size_t i = 0; i < end; ++i) {
      if (text_[i] == '\n') {
        ++p.line;
        p.column = 1;
      } else {
        ++p.column;
      }
    }
    return p;
  }

  // The JSON string token starting at offset, quotes included.
  std::string_view string_token_at(std::size_t offset) const {
    std::size_t i = offset + 1;
    while (i < text_.size() && text_[i] != '"') i += text_[i] == '\\' ? 2 : 1;
    return text_.substr(offset, std::min(i + 1, text_.size()) - offset);
  }
  bool same_key(std::size_t a, std::size_t b) const {
    const std::string_view ta = string_token_at(a), tb = string_token_at(b);
    if (ta.find('\\') == std::string_view::npos && tb.find('\\') == std::string_view::npos) return ta == tb;
    try {
      return json::parse(ta) == json::parse(tb);
    } catch (const json::exception&) {
      return false;
    }
  }

  // Where the value (or key) at pointer starts; for a value the file does not
  // have, its nearest enclosing value (as config::JsonSource::locate).
  std::size_t locate(const Pointer& at, bool key) const {
    const std::vector<std::string> tokens = tokens_of(at);
    if (tokens.empty()) return root_at_;
    if (tokens[0] == "records") {
      if (tokens.size() >= 2 && in_record_ && tokens[1] == name_) return capture_.locate(tokens, 2, key);
      if (tokens.size() == 1 && key) return records_.key;
      return records_.value;
    }
    if (const auto it = top_captures_.find(tokens[0]); it != top_captures_.end())
      return it->second.locate(tokens, 1, key);
    return root_at_;
  }

  void duplicate(const std::string& key, std::size_t at) {
    ++duplicates_;
    error_at(at, "key \"" + key + "\" appears twice in the same object");
  }

  // Each error is kept with its offset and placed (line:column) once at the end:
  // one pass over the text for all of them. A generator gone wrong can make a
  // million; past kReportedErrors one line says there are more.
  static constexpr unsigned kReportedErrors = 100;
  struct Found {
    unsigned phase;
    std::size_t offset;
    std::string message;
  };
  void error_at(std::size_t offset, const std::string& message) {
    ++errors_;
    if (errors_ <= kReportedErrors)
      errors_found_.push_back({phase(), offset, message});
    else if (errors_ == kReportedErrors + 1)
      errors_found_.push_back({phase(), root_at_, "more errors follow; the first " + std::to_string(kReportedErrors) +
                                                      " are listed above"});
  }
  void error(const Pointer& at, const std::string& message, bool key = false) { error_at(locate(at, key), message); }
  // The readers of the zone's objects report through error(), and so are capped too.
  void report(const Pointer& at, const std::string& message, bool at_key) override { error(at, message, at_key); }

  void warning_at(std::size_t offset, const std::string& message) {
    ++warnings_;
    if (warnings_ <= kReportedErrors)
      warnings_found_.push_back({phase(), offset, message});
    else if (warnings_ == kReportedErrors + 1)
      warnings_found_.push_back({phase(), root_at_, "more occluded names follow; the first " +
                                                        std::to_string(kReportedErrors) + " are listed above"});
  }

  // Errors are listed as the old whole-document reader found them: the top-level
  // keys, the SOA, the names (in file order), then the rules across names.
  enum Phase : unsigned { kTop = 0, kSoa = 1, kNames = 2, kRules = 3 };
  unsigned phase() const { return in_finish_ ? finish_phase_ : kNames; }

  void publish() {
    std::vector<std::pair<std::size_t, config::TextPosition*>> wanted;
    std::vector<config::TextPosition> at(errors_found_.size() + warnings_found_.size());
    for (std::size_t i = 0; i < errors_found_.size(); ++i) wanted.emplace_back(errors_found_[i].offset, &at[i]);
    for (std::size_t i = 0; i < warnings_found_.size(); ++i)
      wanted.emplace_back(warnings_found_[i].offset, &at[errors_found_.size() + i]);
    std::sort(wanted.begin(), wanted.end());
    config::TextPosition p;
    std::size_t i = 0;
    for (const auto& [offset, out] : wanted) {
      const std::size_t end = std::min(offset == kNowhere ? 0 : offset, text_.size());
      for (; i < end; ++i) {
        if (text_[i] == '\n') {
          ++p.line;
          p.column = 1;
        } else {
          ++p.column;
        }
      }
      if (end < i) *out = position_of(end);  // cannot happen: offsets are sorted
      else *out = p;
    }
    std::vector<std::size_t> order(errors_found_.size());
    for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return errors_found_[a].phase < errors_found_[b].phase; });
    for (const std::size_t k : order)
      diags_.add(config::Diagnostic{file_, at[k].line, at[k].column, errors_found_[k].message});
    for (std::size_t k = 0; k < warnings_found_.size(); ++k) {
      const config::TextPosition& w = at[errors_found_.size() + k];
      diags_.add_warning(config::Diagnostic{file_, w.line, w.column, warnings_found_[k].message});
    }
  }

  static inline const config::KeyRules kTtlProblem =
      config::KeyRules::optional("a TTL must be an integer from 0 to 2147483647");

  // The top-level keys, the SOA and the rules across names, once the whole file is read.
  void finish() {
    in_finish_ = true;
    finish_phase_ = kTop;
    if (!root_is_object_) {
      error(Pointer(), "a zone file must hold a JSON object");
      return;
    }
    json root = json::object();
    for (auto& [key, value] : top_values_) root[key] = std::move(value);
    if (records_.key != kNowhere) root["records"] = records_is_object_ ? json::object() : std::move(records_value_);
    config::JsonObjectReader reader(root, Pointer(), *this);
    // Every top-level key is taken before the first early return, so unknown keys are always reported.
    const std::string origin_problem = "\"origin\" must be a domain name string such as \"example.com.\"";
    std::string origin_text;
    const bool has_origin =
        reader.string("origin", origin_text, config::KeyRules::required(origin_problem, origin_problem));
    default_ttl_ = kDefaultTtl;
    reader.integer("ttl", default_ttl_, 0, kMaxTtl, kTtlProblem);
    const json* soa = reader.find("soa");
    reader.object("records", config::KeyRules::optional("\"records\" must be an object of names"));
    const json* transfer = reader.find("transfer");
    const json* dnssec = reader.find("dnssec");
    reader.allow({config::kSchemaKey});
    reader.report_unknown_keys();
    if (!has_origin) return;
    if (origin_.empty()) {
      error(Pointer("/origin"), "\"origin\" is not a valid domain name");
      return;
    }
    if (!zone_) zone_ = std::make_unique<Zone>(origin_, file_);
    // RRsets read before the zone's TTL get it now that the whole file is read.
    if (deferred_ttls_ > 0) zone_->build().replace_ttl(kZoneTtl, default_ttl_);
    finish_phase_ = kSoa;
    if (soa) load_soa(*soa);
    if (transfer) load_transfer(*transfer);
    if (dnssec) load_dnssec(*dnssec);
    finish_phase_ = kRules;
    check_zone_rules();
    const std::string problem = zone_->check_apex();  // the zone compiles in read(), once the text is done with
    if (!problem.empty()) error(Pointer(), problem);
  }

  // "transfer": {"allow": [CIDR | {"net": CIDR, "key": NAME}], "notify": ["IP:port"],
  // "dynamic": "fallback" | "omit" | "refuse"}.
  void load_transfer(const json& value) {
    config::JsonObjectReader reader(value, Pointer("/transfer"), *this);
    if (!reader.is_object()) {
      reader.error("\"transfer\" must be an object {\"allow\": [...], \"notify\": [...], \"dynamic\": \"fallback\"}");
      return;
    }
    TransferSettings settings;
    settings.configured = true;
    const auto read_net = [&](const json& text, const Pointer& at, TransferSettings::Allow& entry) {
      std::string problem;
      const auto net = text.is_string() ? util::parse_network(text.get<std::string>(), problem) : std::nullopt;
      if (!net) {
        error(at, "a transfer source must be a network such as \"192.0.2.0/24\"" +
                      (problem.empty() ? std::string() : ": " + problem));
        return false;
      }
      entry.net = *net;
      return true;
    };
    if (const json* allow = reader.array("allow")) {
      for (std::size_t i = 0; i < allow->size(); ++i) {
        const json& item = (*allow)[i];
        const Pointer at = Pointer("/transfer/allow") / i;
        TransferSettings::Allow entry;
        if (item.is_object()) {
          config::JsonObjectReader object(item, at, *this);
          const json* net = object.find("net", config::KeyRules::required());
          std::string key;
          object.string("key", key);
          object.report_unknown_keys();
          if (!net || !read_net(*net, at / "net", entry)) continue;
          if (!key.empty()) {
            const auto wire = dns::name_from_text(key.back() == '.' ? key : key + ".");
            if (!wire) {
              error(at / "key", "\"key\" must be a TSIG key name of meridian.json's \"tsig\"");
              continue;
            }
            entry.key = dns::name_to_text(dns::fold_wire_name(*wire));
          }
        } else if (!read_net(item, at, entry)) {
          continue;
        }
        settings.allow.push_back(std::move(entry));
      }
    }
    if (const json* notify = reader.array("notify")) {
      for (std::size_t i = 0; i < notify->size(); ++i) {
        const json& item = (*notify)[i];
        const auto target = item.is_string() ? util::parse_host_port(item.get<std::string>()) : std::nullopt;
        if (!target) {
          error(Pointer("/transfer/notify") / i, "a NOTIFY target must be \"IP:port\" such as \"192.0.2.1:53\"");
          continue;
        }
        settings.notify.push_back(*target);
      }
    }
    std::string dynamic = "fallback";
    reader.string("dynamic", dynamic,
                  config::KeyRules::optional("\"dynamic\" must be \"fallback\", \"omit\" or \"refuse\""),
                  [](const std::string& v) { return v == "fallback" || v == "omit" || v == "refuse"; });
    settings.dynamic = dynamic == "omit"     ? TransferSettings::Dynamic::omit
                       : dynamic == "refuse" ? TransferSettings::Dynamic::refuse
                                             : TransferSettings::Dynamic::fallback;
    reader.report_unknown_keys();
    // Secondaries serve what they get to everyone: a dynamic name loses its routing there.
    if (!zone_->build().service_names().empty())
      warning_at(locate(Pointer("/transfer"), true),
                 "the zone is transferable and has dynamic names: secondaries get " +
                     std::string(settings.dynamic == TransferSettings::Dynamic::fallback ? "their fallback answer (no routing)"
                                 : settings.dynamic == TransferSettings::Dynamic::omit ? "no A/AAAA for them"
                                                                                        : "nothing (transfers are refused)"));
    zone_->set_transfer(std::move(settings));
  }

  // "dnssec": {"keys": FOLDER, "algorithm": "ECDSAP256SHA256" | "ED25519",
  // "denial": "compact", "signature_validity": "14d", "refresh": "7d"}. The keys
  // are read here (a bad key is an error of this file); their DNSKEY RRset joins the apex.
  void load_dnssec(const json& value) {
    config::JsonObjectReader reader(value, Pointer("/dnssec"), *this);
    if (!reader.is_object()) {
      reader.error("\"dnssec\" must be an object {\"keys\": \"keys/\", \"algorithm\": \"ECDSAP256SHA256\", ...}");
      return;
    }
    DnssecSettings settings;
    settings.configured = true;
    std::string keys;
    const bool keys_ok = reader.string("keys", keys,
                                       config::KeyRules::required("\"dnssec\" needs \"keys\": the folder of the zone's key files",
                                                                  "\"keys\" must be a folder such as \"keys/\""));
    std::string algorithm = "ECDSAP256SHA256";
    const bool algorithm_ok =
        reader.string("algorithm", algorithm,
                      config::KeyRules::optional("\"algorithm\" must be \"ECDSAP256SHA256\" or \"ED25519\""),
                      [](const std::string& v) { return dnssec::algorithm_from_name(v).has_value(); });
    std::string denial = "compact";
    reader.string("denial", denial,
                  config::KeyRules::optional("\"denial\" must be \"compact\" (RFC 9824) or \"nsec\" (RFC 4035)"),
                  [](const std::string& v) { return v == "compact" || v == "nsec"; });
    std::chrono::milliseconds validity = settings.signature_validity, refresh = settings.refresh;
    const bool validity_ok = reader.duration("signature_validity", validity);
    const bool refresh_ok = reader.duration("refresh", refresh);
    reader.report_unknown_keys();
    if (validity_ok && refresh_ok && refresh >= validity) {
      error(Pointer("/dnssec/refresh"), "\"refresh\" must be shorter than \"signature_validity\" (signatures are made "
                                        "again this long before they expire)");
      return;
    }
    if (validity_ok && validity < std::chrono::hours(1)) {
      error(Pointer("/dnssec/signature_validity"), "\"signature_validity\" must be at least 1h");
      return;
    }
    if (!keys_ok || keys.empty() || !algorithm_ok) return;
    settings.algorithm = *dnssec::algorithm_from_name(algorithm);
    settings.signature_validity = std::chrono::duration_cast<std::chrono::seconds>(validity);
    settings.refresh = std::chrono::duration_cast<std::chrono::seconds>(refresh);
    settings.compact_denial = denial != "nsec";
    settings.keys_folder =
        config::resolve_path(std::filesystem::path(file_).parent_path().string(), keys);
    std::string problem;
    settings.keys = dnssec::read_keys(settings.keys_folder, origin_, settings.algorithm, problem);
    if (!settings.keys) {
      error(Pointer("/dnssec/keys"), problem);
      return;
    }
    for (const dnssec::SigningKey& key : settings.keys->keys) {
      Rdata rdata;
      rdata.wire = key.dnskey_rdata;
      zone_->build().add(0, dns::type::DNSKEY, default_ttl_, rdata);
    }
    zone_->set_dnssec(std::move(settings));
  }

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
    constexpr NameId apex = 0;
    if (records_soa_at_ != kNowhere) {
      // "soa" wins; the SOA among the records is the one given twice.
      finish_phase_ = kNames;
      error_at(records_soa_at_, "the SOA is given twice (in \"soa\" and in records)");
      finish_phase_ = kSoa;
      zone_->build().drop(apex, [](uint16_t type) { return type != dns::type::SOA; }, [](uint16_t) {});
    }
    add_rdata(apex, dns::type::SOA, ttl, text, [&] { return soa.pointer(); });
  }

  void load_name(const std::string& name_text, const json& types, std::size_t key_at) {
    // Pointers only for errors: a million names would make millions of them.
    auto at = [&] { return Pointer("/records") / name_text; };
    auto name = dns::name_from_text(name_text, origin_);
    if (!name) {
      error(at(), "\"" + name_text + "\" is not a valid domain name", true);
      return;
    }
    const std::string owner = dns::fold_wire_name(*name);
    if (!dns::is_subdomain(owner, origin_)) {
      error(at(), "\"" + name_text + "\" is not inside the zone " + dns::name_to_text(origin_), true);
      return;
    }
    if (!types.is_object()) {
      error(at(), "a name maps to an object of record types, e.g. {\"A\": \"192.0.2.1\"}");
      return;
    }
    ZoneBuild& build = zone_->build();
    const NameId node = build.name_for(owner);
    if (node == ZoneBuild::kNoName) {
      error(at(), "the zone holds too many names (more than 4 GB of names)", true);
      return;
    }
    if (node >= last_position_.size()) last_position_.resize(build.size(), kNoPosition);
    // The same key twice in "records" ("www" and "www.example.com." are one node, not a repeat).
    for (uint32_t k = last_position_[node]; k != kNoPosition; k = positions_[k].previous) {
      if (same_key(positions_[k].key_at, key_at)) {
        duplicate(name_text, key_at);
        return;
      }
    }
    for (const auto& [type_text, value] : types.items()) {
      auto vat = [&, &type_text = type_text] { return at() / type_text; };
      if (type_text == "service") {
        if (!value.is_string() || value.get<std::string>().empty()) {
          error(vat(), "\"service\" names a service defined in meridian.json");
          continue;
        }
        build.set_service(node, value.get_ref<const std::string&>());
        continue;
      }
      const auto type = rr_type_from_name(type_text);
      if (!type) {
        error(vat(), "unknown record type \"" + type_text + "\"", true);
        continue;
      }
      if (!storable_type(*type)) {
        error(vat(), "record type " + type_text + " cannot be stored in a zone", true);
        continue;
      }
      if (*type == dns::type::SOA && owner != origin_) {
        error(vat(), "SOA is only allowed at the apex", true);
        continue;
      }
      if (*type == dns::type::SOA && build.has(node, dns::type::SOA)) {
        error(vat(), "the SOA is given twice (in \"soa\" and in records)", true);
        continue;
      }
      uint32_t ttl = zone_ttl_ ? *zone_ttl_ : kZoneTtl;
      const json* data = &value;
      bool in_object = false;
      auto data_at = [&] { return in_object ? vat() / "data" : vat(); };
      if (value.is_object()) {
        config::JsonObjectReader record(value, vat(), *this);
        const bool ttl_ok = record.integer("ttl", ttl, 0, kMaxTtl, kTtlProblem);
        data = record.find("data", config::KeyRules::required());
        record.report_unknown_keys();
        if (!ttl_ok || !data) continue;
        in_object = true;
      }
      const std::size_t size_before = build.count(node, *type);
      if (data->is_string()) {
        add_rdata(node, *type, ttl, data->get_ref<const std::string&>(), data_at);
      } else if (data->is_array() && !data->empty()) {
        for (std::size_t i = 0; i < data->size(); ++i) {
          const json& item = (*data)[i];
          if (!item.is_string()) {
            error(data_at() / std::to_string(i), "record data must be a string in presentation format");
            continue;
          }
          add_rdata(node, *type, ttl, item.get_ref<const std::string&>(), [&] { return data_at() / std::to_string(i); });
        }
      } else {
        error(data_at(), "record data must be a string or a non-empty array of strings");
      }
      if (*type == dns::type::SOA && build.count(node, *type) > size_before)
        records_soa_at_ = locate(vat(), true);
    }
    positions_.push_back({node, last_position_[node], key_at});
    last_position_[node] = static_cast<uint32_t>(positions_.size() - 1);
  }

  // where() gives the JSON pointer of the text, for errors.
  template <typename Where>
  void add_rdata(NameId node, uint16_t type, uint32_t ttl, const std::string& text, Where where) {
    ZoneBuild& build = zone_->build();
    const ParsedRdata parsed = parse_rdata(type, text, build.name(node), origin_);
    if (!parsed.error.empty()) {
      error(where(), parsed.error);
      return;
    }
    // Duplicate records in an RRset are dropped (RFC 2181 section 5).
    if ((type == dns::type::CNAME || type == dns::type::DNAME) && build.has(node, type) &&
        !build.has_record(node, type, parsed.rdata.wire)) {
      error(where(), type == dns::type::CNAME ? "a name can have only one CNAME" : "a name can have only one DNAME");
      return;
    }
    switch (build.add(node, type, ttl, parsed.rdata)) {
      case ZoneBuild::Added::kDuplicate:
        return;
      case ZoneBuild::Added::kFull:
        error(where(), "the zone holds too much record data (more than 4 GB)");
        return;
      case ZoneBuild::Added::kAdded:
        break;
    }
    if (type == dns::type::DNAME) ++dnames_;
    if (type == dns::type::NS && node != 0) ++cuts_;
    if (ttl == kZoneTtl) ++deferred_ttls_;
  }

  // Rules across records: CNAME exclusivity, services, data at and below cuts.
  // Data the parent cannot serve (occluded by a delegation, RFC 2181 6) is
  // dropped with a warning, as BIND, Knot and NSD load such zones.
  void check_zone_rules() {
    const ZoneBuild& build = zone_->build();
    std::vector<bool> checked(build.size());
    for (const auto& position : positions_) {
      const NameId node = position.node;
      const std::string_view owner = build.name(node);  // no name is added from here on
      const std::size_t at = position.key_at;
      if (checked[node]) continue;  // "www" and "www.example.com." are one node
      checked[node] = true;
      const bool has_service = build.service_number(node) != 0;
      // For every name, occluded or not: Knot and BIND refuse these too.
      if (build.has(node, dns::type::CNAME) && (build.type_count(node) > 1 || has_service))
        error_at(at, "a CNAME cannot coexist with other data at the same name (RFC 1034 3.6.2)");
      if (owner != origin_) {
        const std::string_view cut = cut_above(owner);
        if (!cut.empty()) {
          check_below_cut(node, cut, at);
          continue;  // never served: the rules for authoritative data do not apply
        }
        if (build.has(node, dns::type::NS)) check_at_cut(node, at);
      }
      if (has_service && (build.has(node, dns::type::A) || build.has(node, dns::type::AAAA)))
        error_at(at, "a name with a \"service\" gets its A/AAAA from the service; remove the static A/AAAA");
      // Names below a DNAME are redirected, so data there could never be served.
      if (dnames_ > 0 && owner != origin_ && !build.empty(node)) {
        for (std::string_view up = owner; up.size() > origin_.size();) {
          up = dns::parent_name(up);
          const NameId ancestor = build.find(up);
          if (ancestor != ZoneBuild::kNoName && build.has(ancestor, dns::type::DNAME)) {
            error_at(at, "no data may sit below the DNAME at " + dns::name_to_text(up) + " (RFC 6672 2.3)");
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
    if (cuts_ == 0) return topmost;
    for (std::string_view up = dns::parent_name(owner); up.size() > origin_.size(); up = dns::parent_name(up)) {
      const NameId ancestor = zone_->build().find(up);
      if (ancestor != ZoneBuild::kNoName && zone_->build().has(ancestor, dns::type::NS)) topmost = up;
    }
    return topmost;
  }

  static bool is_address(uint16_t type) { return type == dns::type::A || type == dns::type::AAAA; }

  // Removes the RRsets `keep` rejects and returns their type names ("CNAME, TXT").
  template <typename Keep> std::string drop_rrsets(NameId node, Keep keep) {
    std::string dropped;
    zone_->build().drop(node, keep, [&](uint16_t type) { dropped += (dropped.empty() ? "" : ", ") + rr_type_name(type); });
    return dropped;
  }

  // At a cut the parent holds NS, DS and glue addresses (whether or not an NS
  // names the cut itself: RFC 9471); anything else belongs to the child.
  void check_at_cut(NameId node, std::size_t at) {
    if (zone_->build().service_number(node) != 0) error_at(at, "a delegation point cannot have a service");
    const std::string dropped = drop_rrsets(node, [](uint16_t t) {
      return t == dns::type::NS || t == dns::type::DS || is_address(t);
    });
    if (!dropped.empty())
      warning_at(at, dropped + " at the delegation point " + dns::name_to_text(zone_->build().name(node)) +
                      " is never served (occluded: only NS, DS and glue A/AAAA are)");
  }

  // Below a cut only glue addresses are used, as additional data of referrals.
  void check_below_cut(NameId node, std::string_view cut, std::size_t at) {
    if (zone_->build().service_number(node) != 0)
      error_at(at, "below the delegation at " + dns::name_to_text(cut) + " a service is not allowed");
    const std::string dropped = drop_rrsets(node, is_address);
    if (!dropped.empty())
      warning_at(at, dropped + " at " + dns::name_to_text(zone_->build().name(node)) + " is below the delegation at " +
                      dns::name_to_text(cut) + " and is never served (occluded)");
  }

  const std::string_view text_;
  const std::string file_;
  config::Diagnostics& diags_;
  const char* cursor_;
  std::string* owned_text_;

  // Where the reader is in the file.
  std::size_t depth_ = 0;     // of the containers open outside a capture: 1 in the root object, 2 in "records"
  unsigned skipping_ = 0;     // containers open inside a root that is not an object
  bool capturing_ = false;
  Capture capture_;           // the value being read at the top level or for one name
  std::string top_key_;
  std::size_t top_key_at_ = kNowhere;
  std::string name_;          // the current name in "records"
  std::size_t name_at_ = kNowhere;
  bool in_record_ = false;

  // What the file holds at the top level.
  std::size_t root_at_ = 0;
  bool root_is_object_ = true;
  std::unordered_set<std::string> top_keys_;
  std::map<std::string, json> top_values_;       // every top-level value but an object of "records"
  std::map<std::string, Capture> top_captures_;  // their positions
  Spot records_;
  bool records_is_object_ = false;
  json records_value_;                           // "records" when it is not an object
  bool origin_known_ = false;                    // the origin was read (or looked for)
  bool records_usable_ = false;
  std::size_t records_soa_at_ = kNowhere;        // an SOA among the records

  std::unique_ptr<Zone> zone_;
  std::string origin_;
  uint32_t default_ttl_ = kDefaultTtl;
  std::optional<uint32_t> zone_ttl_;                 // while reading records; nullopt: not known yet
  std::size_t deferred_ttls_ = 0;                    // records that wait for the zone's TTL
  std::size_t dnames_ = 0, cuts_ = 0;                // no ancestor walks in zones without them
  unsigned errors_ = 0;
  unsigned warnings_ = 0;
  unsigned duplicates_ = 0;
  bool in_finish_ = false;
  unsigned finish_phase_ = kTop;
  std::vector<Found> errors_found_;
  std::vector<Found> warnings_found_;
  std::optional<config::Diagnostic> syntax_error_;
  // Each name's key in "records", for the rules checked once all are read;
  // previous chains the keys of one node (to find a key given twice).
  static constexpr uint32_t kNoPosition = 0xFFFFFFFF;
  struct NamePosition {
    NameId node;
    uint32_t previous;
    std::size_t key_at;
  };
  std::vector<NamePosition> positions_;
  std::vector<uint32_t> last_position_;  // per name: its last entry in positions_ (kNoPosition: none)
};

}  // namespace

ZoneFile load_json_zone_text(std::string_view text, const std::string& name, config::Diagnostics& diagnostics) {
  return ZoneReader(text, name, diagnostics).read();
}

ZoneFile load_json_zone_text_and_free(std::string&& text, const std::string& name, config::Diagnostics& diagnostics) {
  std::string owned = std::move(text);
  return ZoneReader(owned, name, diagnostics, &owned).read();
}

std::unique_ptr<Zone> load_json_zone_file(const std::string& path, config::Diagnostics& diagnostics) {
  std::optional<std::string> text = util::read_file_text(path);
  if (!text) {
    diagnostics.add(path, 0, 0, "cannot open file");
    return nullptr;
  }
  return load_json_zone_text_and_free(std::move(*text), path, diagnostics).zone;
}

}  // namespace meridian::zone
