#include "util/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

#include <nlohmann/json.hpp>

#include "util/journal_stream.hpp"

namespace meridian::util {

namespace {
std::atomic<LogLevel> g_level{LogLevel::info};
std::atomic<LogFormat> g_format{LogFormat::logfmt};
std::mutex g_mutex;

// The syslog priority journald reads from a "<N>" line prefix.
const char* journal_prefix(LogLevel l) {
  switch (l) {
    case LogLevel::debug: return "<7>";
    case LogLevel::info: return "<6>";
    case LogLevel::warn: return "<4>";
    case LogLevel::error: return "<3>";
  }
  return "<6>";
}

// Decided once, at the first line: where stderr goes does not change while running.
const char* prefix_for(LogLevel l) {
  static const bool journal = stderr_is_journal();
  return journal ? journal_prefix(l) : "";
}

const char* level_name(LogLevel l) {
  switch (l) {
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::warn: return "warn";
    case LogLevel::error: return "error";
  }
  return "info";
}

// One JSON object; bytes that are not UTF-8 become U+FFFD rather than break the line.
std::string json_line(const char* ts, LogLevel level, std::string_view event, std::initializer_list<LogField> fields) {
  nlohmann::ordered_json j;
  j["ts"] = ts;
  j["level"] = level_name(level);
  j["event"] = event;
  for (const auto& [k, v] : fields) j[std::string(k)] = v;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

// Quotes values holding spaces, quotes or '=' so lines stay machine-readable.
void append_value(std::string& out, const std::string& v) {
  const bool quote = v.empty() || v.find_first_of(" \"=\t\n") != std::string::npos;
  if (!quote) {
    out += v;
    return;
  }
  out += '"';
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  out += '"';
}
}  // namespace

void set_log_level(LogLevel level) { g_level.store(level); }
void set_log_format(LogFormat format) { g_format.store(format); }

std::optional<LogLevel> parse_log_level(std::string_view text) {
  for (const LogLevel l : {LogLevel::debug, LogLevel::info, LogLevel::warn, LogLevel::error})
    if (text == level_name(l)) return l;
  return std::nullopt;
}

void log(LogLevel level, std::string_view event, std::initializer_list<LogField> fields) {
  if (level < g_level.load()) return;
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char ts[96];
  std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  if (g_format.load() == LogFormat::json) {
    const std::string line = prefix_for(level) + json_line(ts, level, event, fields);
    std::lock_guard lock(g_mutex);
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
    return;
  }
  std::string line = prefix_for(level);
  line += "ts=";
  line += ts;
  line += " level=";
  line += level_name(level);
  line += " event=";
  line += event;
  for (const auto& [k, v] : fields) {
    line += ' ';
    line += k;
    line += '=';
    append_value(line, v);
  }
  line += '\n';
  std::lock_guard lock(g_mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace meridian::util
