#include "zone/master_scanner.hpp"

// libzscanner's headers do not declare C linkage themselves.
extern "C" {
#include <libzscanner/scanner.h>
}

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "dns/name.hpp"
#include "util/file_text.hpp"

// After the standard headers: ldns's headers define bool/false macros.
#include <ldns/ldns.h>

namespace meridian::zone {

namespace {

// A file bigger than this many errors is not worth reading on: one line says so.
constexpr std::size_t kMaxErrors = 100;
// A record's TTL when the file gives none and there is no $TTL before it.
constexpr uint32_t kDefaultTtl = 3600;
// What zscanner is given as the default TTL, to tell records without a TTL.
// A TTL above 2^31-1 is an import error (RFC 2181 8), but this one written out
// reads as no TTL.
constexpr uint32_t kNoTtl = UINT32_MAX;

struct RrDeleter {
  void operator()(ldns_rr* rr) const { ldns_rr_free(rr); }
};
struct RdfDeleter {
  void operator()(ldns_rdf* rdf) const { ldns_rdf_deep_free(rdf); }
};

// A file's text by line, read only when a record needs ldns or an error its line.
class FileLines {
 public:
  explicit FileLines(std::string text) : text_(std::move(text)) {
    starts_.push_back(0);
    for (std::size_t i = 0; i < text_.size(); ++i)
      if (text_[i] == '\n') starts_.push_back(i + 1);
  }
  // 1-based; nullopt past the end.
  std::optional<std::string_view> line(std::size_t n) const {
    if (n == 0 || n > starts_.size()) return std::nullopt;
    const std::size_t begin = starts_[n - 1];
    std::size_t end = n < starts_.size() ? starts_[n] - 1 : text_.size();
    if (end > begin && text_[end - 1] == '\r') --end;
    return std::string_view(text_).substr(begin, end - begin);
  }

 private:
  std::string text_;
  std::vector<std::size_t> starts_;
};

// The record that starts at `line` as one line for ldns: comments dropped,
// parentheses joined across lines. nullopt when it is not the start of a record
// (a ')' closes what this line did not open, or the file ends inside them).
struct JoinedRecord {
  std::string text;
  std::size_t last_line = 0;
};
std::optional<JoinedRecord> join_record(const FileLines& file, std::size_t line) {
  JoinedRecord out;
  int depth = 0;
  bool quoted = false;
  for (std::size_t n = line;; ++n) {
    const auto text = file.line(n);
    if (!text) return std::nullopt;
    for (std::size_t i = 0; i < text->size(); ++i) {
      const char c = (*text)[i];
      if (c == '\\' && i + 1 < text->size()) {
        out.text += c;
        out.text += (*text)[++i];
      } else if (quoted) {
        quoted = c != '"';
        out.text += c;
      } else if (c == '"') {
        quoted = true;
        out.text += c;
      } else if (c == ';') {
        break;
      } else if (c == '(' || c == ')') {
        depth += c == '(' ? 1 : -1;
        if (depth < 0) return std::nullopt;
        out.text += ' ';
      } else {
        out.text += c;
      }
    }
    if (depth == 0) {
      out.last_line = n;
      return out;
    }
    out.text += ' ';
  }
}

class Scan {
 public:
  // top_text: the top file's text when it is read from memory (nullptr: from path).
  Scan(const std::string& path, const std::string* top_text, config::Diagnostics& diagnostics,
       const std::function<void(const MasterRecord&)>& on_record)
      : path_(path), top_text_(top_text), diagnostics_(diagnostics), on_record_(on_record) {}

  void run(zs_scanner_t* top) {
    top_ = top;
    zs_set_processing(top, &Scan::on_zs_record, &Scan::on_zs_error, this);
    zs_parse_all(top);
  }

 private:
  static void on_zs_record(zs_scanner_t* s) {
    Scan& scan = *static_cast<Scan*>(s->process.data);
    if (scan.stop_if_too_many(s) || scan.skipped(s)) return;
    const bool fresh_dollar_ttl = scan.take_dollar_ttl(s);
    // Right after $TTL zscanner has filled that value in: the same number is taken as implicit.
    const uint32_t ttl = fresh_dollar_ttl && s->r_ttl == scan.dollar_ttl_ ? kNoTtl : s->r_ttl;
    scan.deliver({reinterpret_cast<const char*>(s->r_owner), s->r_owner_length}, s->r_type, ttl,
                 {reinterpret_cast<const char*>(s->r_data), s->r_data_length}, scan.file_of(s),
                 static_cast<std::size_t>(s->line_counter));
  }

  static void on_zs_error(zs_scanner_t* s) {
    Scan& scan = *static_cast<Scan*>(s->process.data);
    if (scan.stop_if_too_many(s) || scan.skipped(s)) return;
    // Inside parentheses the line is not where the record starts: no second try.
    scan.ldns_error_.clear();
    if (!s->error.fatal && !s->multiline && scan.read_with_ldns(s)) {
      // Not an error after all: an included file read this way does not stop
      // the file that includes it.
      --s->error.counter;
      return;
    }
    scan.report(s);
  }

  // zscanner fills in a record without a TTL from default_ttl, which the
  // scanner is given as kNoTtl; a $TTL line overwrites it with its value.
  // Returns true when it did since the last record.
  bool take_dollar_ttl(zs_scanner_t* s) {
    if (s->default_ttl == kNoTtl) return false;
    ttl_from_directive_ = true;
    dollar_ttl_ = s->default_ttl;
    s->default_ttl = kNoTtl;
    return true;
  }

  // ldns's rules for a record without a TTL (how `zone import` read them
  // before): the $TTL value, or the last TTL written when there is no $TTL
  // (RFC 1035 5.1); SIG and RRSIG take their original TTL (RFC 2535 7.2, RFC
  // 4034 3); a record of the same RRset as the one before takes its TTL.
  void deliver(std::string_view owner, uint16_t type, uint32_t ttl, std::string_view rdata, std::string_view file,
               std::size_t line) {
    fold_.assign(owner);
    for (char& c : fold_)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (ttl != kNoTtl) {
      if (!ttl_from_directive_) last_ttl_ = ttl;
    } else if ((type == 24 /*SIG*/ || type == 46 /*RRSIG*/) && rdata.size() >= 8) {
      ttl = 0;
      for (std::size_t i = 4; i < 8; ++i) ttl = ttl << 8 | static_cast<uint8_t>(rdata[i]);
    } else if (type == prev_type_ && fold_ == prev_owner_) {
      ttl = prev_ttl_;
    } else {
      ttl = ttl_from_directive_ ? dollar_ttl_ : last_ttl_;
    }
    prev_owner_.swap(fold_);
    prev_type_ = type;
    prev_ttl_ = ttl;
    on_record_({owner, type, ttl, rdata, file, line});
  }

  std::string_view file_of(const zs_scanner_t* s) const {
    return s == top_ ? std::string_view(path_) : std::string_view(s->file.name);
  }

  // Lines of a record ldns read after zscanner stopped at its first line: what
  // zscanner makes of the rest is not a record.
  bool skipped(const zs_scanner_t* s) const {
    return s->line_counter <= skip_through_ && file_of(s) == skip_file_;
  }

  bool stop_if_too_many(zs_scanner_t* s) {
    if (diagnostics_.size() < kMaxErrors) return false;
    if (!stopped_) {
      stopped_ = true;
      diagnostics_.add(path_, 0, 0, "reading stopped after " + std::to_string(kMaxErrors) + " errors");
    }
    s->state = ZS_STATE_STOP;
    return true;
  }

  const FileLines& lines_of(const zs_scanner_t* s) {
    const std::string name = s->file.name ? s->file.name : path_;
    auto it = files_.find(name);
    if (it == files_.end()) {
      std::string text = top_text_ && s == top_ ? *top_text_ : util::read_file_text(name).value_or(std::string());
      it = files_.emplace(name, std::make_unique<FileLines>(std::move(text))).first;
    }
    return *it->second;
  }

  bool read_with_ldns(zs_scanner_t* s) {
    const FileLines& file = lines_of(s);
    const auto first = file.line(s->line_counter);
    if (!first || first->empty() || first->front() == '$') return false;
    auto record = join_record(file, s->line_counter);
    if (!record) return false;
    // A line that starts blank belongs to the owner before it, which zscanner kept.
    if (first->front() == ' ' || first->front() == '\t')
      record->text = dns::name_to_text({reinterpret_cast<const char*>(s->r_owner), s->r_owner_length}) + record->text;
    std::unique_ptr<ldns_rdf, RdfDeleter> origin(
        ldns_dname_new_frm_data(static_cast<uint16_t>(s->zone_origin_length), s->zone_origin));
    take_dollar_ttl(s);
    // What zscanner makes of the record's other lines is not a record either way.
    if (record->last_line > s->line_counter) {
      skip_file_ = std::string(file_of(s));
      skip_through_ = record->last_line;
    }
    ldns_rr* raw = nullptr;
    const ldns_status status = ldns_rr_new_frm_str(&raw, record->text.c_str(), kNoTtl, origin.get(), nullptr);
    std::unique_ptr<ldns_rr, RrDeleter> rr(raw);
    if (status != LDNS_STATUS_OK) {
      ldns_error_ = ldns_get_errorstr_by_id(status);
      return false;
    }
    const ldns_rdf* owner = ldns_rr_owner(rr.get());
    std::string rdata;
    for (std::size_t i = 0; i < ldns_rr_rd_count(rr.get()); ++i) {
      const ldns_rdf* rdf = ldns_rr_rdf(rr.get(), i);
      rdata.append(reinterpret_cast<const char*>(ldns_rdf_data(rdf)), ldns_rdf_size(rdf));
    }
    deliver({reinterpret_cast<const char*>(ldns_rdf_data(owner)), ldns_rdf_size(owner)},
            static_cast<uint16_t>(ldns_rr_get_type(rr.get())), ldns_rr_ttl(rr.get()), rdata, file_of(s),
            record->last_line);
    return true;
  }

  void report(const zs_scanner_t* s) {
    // A type zscanner does not know but ldns does: ldns's reason is the one that helps.
    const bool ldns_knows = s->error.code == ZS_UNSUPPORTED_TYPE && !ldns_error_.empty();
    std::string message =
        std::string("cannot parse master file: ") + (ldns_knows ? ldns_error_.c_str() : zs_strerror(s->error.code));
    if (s->error.code == ZS_UNPROCESSED_INCLUDE)
      message = "reading stopped: the included file has errors";
    if (s->error.code == ZS_BAD_DIRECTIVE) {
      if (const auto line = lines_of(s).line(s->line_counter)) {
        const std::string_view directive = line->substr(0, line->find_first_of(" \t"));
        message = "directive " + std::string(directive) +
                  " is not supported (meridian reads $ORIGIN, $TTL and $INCLUDE, as Knot does)";
      }
    }
    diagnostics_.add(std::string(file_of(s)), static_cast<std::size_t>(s->line_counter), 1, message);
  }

  const std::string& path_;
  const std::string* top_text_;
  config::Diagnostics& diagnostics_;
  const std::function<void(const MasterRecord&)>& on_record_;
  const zs_scanner_t* top_ = nullptr;
  std::map<std::string, std::unique_ptr<FileLines>> files_;
  std::string skip_file_;
  uint64_t skip_through_ = 0;
  bool stopped_ = false;
  std::string ldns_error_;  // why ldns could not read the record zscanner could not
  // TTL rules (deliver)
  bool ttl_from_directive_ = false;
  uint32_t dollar_ttl_ = 0;
  uint32_t last_ttl_ = kDefaultTtl;
  std::string fold_, prev_owner_;
  uint16_t prev_type_ = 0;
  uint32_t prev_ttl_ = 0;
};

// zscanner refuses CRLF line ends (ZS_DOS_NEWLINE); ldns read them, so a file
// with CR bytes is read into memory without the CRs before each LF.
bool has_cr(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> block(1 << 16);
  while (in.read(block.data(), static_cast<std::streamsize>(block.size())) || in.gcount() > 0)
    if (std::memchr(block.data(), '\r', static_cast<std::size_t>(in.gcount()))) return true;
  return false;
}

std::string without_crlf(std::string text) {
  std::size_t out = 0;
  for (std::size_t i = 0; i < text.size(); ++i)
    if (!(text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n')) text[out++] = text[i];
  text.resize(out);
  return text;
}

// zs_scanner_t holds several 64 KiB buffers (200 KiB): on the heap, not the stack.
// Each thread keeps the last one freed, so importing many files (or fuzzing inputs)
// does not map and fault in fresh pages for every file; zs_init zeroes it anyway.
thread_local std::unique_ptr<zs_scanner_t> spare_scanner;

struct ScannerDeleter {
  void operator()(zs_scanner_t* s) const {
    zs_deinit(s);
    if (!spare_scanner) {
      spare_scanner.reset(s);
    } else {
      delete s;
    }
  }
};
using ScannerPtr = std::unique_ptr<zs_scanner_t, ScannerDeleter>;

ScannerPtr make_scanner(const std::string& name, const std::string& origin_text, config::Diagnostics& diagnostics) {
  zs_scanner_t* raw = spare_scanner ? spare_scanner.release() : new zs_scanner_t;
  if (zs_init(raw, origin_text.c_str(), 1 /*IN*/, kNoTtl) != 0) {
    spare_scanner.reset(raw);
    diagnostics.add(name, 0, 0, "\"" + origin_text + "\" is not a valid zone origin");
    return nullptr;
  }
  ScannerPtr scanner(raw);
  // A first record without an owner belongs to the origin, as in ldns (zscanner
  // would take the root).
  std::memcpy(scanner->r_owner, scanner->zone_origin, scanner->zone_origin_length);
  scanner->r_owner_length = scanner->zone_origin_length;
  return scanner;
}

}  // namespace

bool scan_master_text(std::string_view text, const std::string& name, const std::string& origin_text,
                      config::Diagnostics& diagnostics, const std::function<void(const MasterRecord&)>& on_record) {
  ScannerPtr scanner = make_scanner(name, origin_text, diagnostics);
  if (!scanner) return false;
  const std::string kept = without_crlf(std::string(text));  // outlives the scan: zscanner reads it in place
  zs_set_input_string(scanner.get(), kept.data(), kept.size());
  Scan(name, &kept, diagnostics, on_record).run(scanner.get());
  return true;
}

bool scan_master_file(const std::string& path, const std::string& origin_text, config::Diagnostics& diagnostics,
                      const std::function<void(const MasterRecord&)>& on_record) {
  ScannerPtr scanner = make_scanner(path, origin_text, diagnostics);
  if (!scanner) return false;
  if (zs_set_input_file(scanner.get(), path.c_str()) != 0) {
    diagnostics.add(path, 0, 0, std::string("cannot open file: ") + zs_strerror(scanner->error.code));
    return false;
  }
  std::string text;  // outlives the scan: zscanner reads it in place
  if (has_cr(path)) {
    text = without_crlf(util::read_file_text(path).value_or(std::string()));
    // zs_set_input_file set the folder relative $INCLUDEs are read from; keep it.
    char* folder = scanner->path;
    scanner->path = nullptr;
    zs_set_input_string(scanner.get(), text.data(), text.size());
    std::free(scanner->path);
    scanner->path = folder;
  }
  Scan(path, nullptr, diagnostics, on_record).run(scanner.get());
  return true;
}

}  // namespace meridian::zone
