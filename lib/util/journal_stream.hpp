// Whether stderr is connected to systemd-journald: systemd sets JOURNAL_STREAM to
// "DEVICE:INODE" of the stream it hands a service, and that stream is still stderr
// when fstat(2) reports the same pair (a redirect in between changes it). Log lines
// then start with a syslog priority prefix ("<3>" error ... "<7>" debug), which journald
// strips and keeps as the entry's PRIORITY (sd-daemon(3), SyslogLevelPrefix=).
#pragma once
#include <cstdint>
#include <string_view>

namespace meridian::util {

// True when value is "DEVICE:INODE" in decimal, naming exactly this device and inode.
bool journal_stream_matches(std::string_view value, uint64_t device, uint64_t inode);
// JOURNAL_STREAM against fstat(STDERR_FILENO); false when either is missing.
bool stderr_is_journal();

}  // namespace meridian::util
