// Structured log lines on stderr: `ts=... level=... event=... key=value ...`,
// one line per event, safe to call from any thread.
#pragma once
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace meridian::util {

enum class LogLevel { debug, info, warn, error };

using LogField = std::pair<std::string_view, std::string>;

void log(LogLevel level, std::string_view event, std::initializer_list<LogField> fields = {});
void set_log_level(LogLevel level);

}  // namespace meridian::util
