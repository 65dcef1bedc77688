// Structured log lines on stderr, one per event, safe to call from any thread:
// logfmt `ts=... level=... event=... key=value ...` (the default) or one JSON
// object per line {"ts": ..., "level": ..., "event": ..., "key": "value", ...};
// with a "<N>" syslog priority first when stderr is the journal (util/journal_stream.hpp).
#pragma once
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace meridian::util {

enum class LogLevel { debug, info, warn, error };
enum class LogFormat { logfmt, json };

using LogField = std::pair<std::string_view, std::string>;

void log(LogLevel level, std::string_view event, std::initializer_list<LogField> fields = {});
void set_log_level(LogLevel level);
void set_log_format(LogFormat format);
// "debug", "info", "warn", "error"; nullopt for anything else.
std::optional<LogLevel> parse_log_level(std::string_view text);

}  // namespace meridian::util
