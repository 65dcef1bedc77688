#include "runtime/privileges.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace meridian::runtime {

namespace {

// getpwnam_r/getgrnam_r need a caller buffer; the system suggests its size.
std::vector<char> lookup_buffer(int which) {
  long size = ::sysconf(which);
  return std::vector<char>(size > 0 ? static_cast<std::size_t>(size) : 16384);
}

std::runtime_error failure(const std::string& step) {
  return std::runtime_error(step + " failed: " + std::strerror(errno));
}

}  // namespace

std::optional<RunAs> resolve_run_as(const std::string& spec, std::string& error) {
  const auto colon = spec.find(':');
  RunAs out;
  out.user = spec.substr(0, colon);
  if (out.user.empty()) {
    error = "\"user\" names no user (\"user\" or \"user:group\")";
    return std::nullopt;
  }
  passwd pw{};
  passwd* found = nullptr;
  auto buf = lookup_buffer(_SC_GETPW_R_SIZE_MAX);
  if (::getpwnam_r(out.user.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || !found) {
    error = "no such user \"" + out.user + "\"";
    return std::nullopt;
  }
  out.uid = pw.pw_uid;
  out.gid = pw.pw_gid;
  group gr{};
  group* found_group = nullptr;
  auto gbuf = lookup_buffer(_SC_GETGR_R_SIZE_MAX);
  if (colon != std::string::npos) {
    out.group = spec.substr(colon + 1);
    if (::getgrnam_r(out.group.c_str(), &gr, gbuf.data(), gbuf.size(), &found_group) != 0 || !found_group) {
      error = "no such group \"" + out.group + "\"";
      return std::nullopt;
    }
    out.gid = gr.gr_gid;
  } else if (::getgrgid_r(out.gid, &gr, gbuf.data(), gbuf.size(), &found_group) == 0 && found_group) {
    out.group = gr.gr_name;
  } else {
    out.group = std::to_string(out.gid);
  }
  return out;
}

void forbid_new_privileges() {
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) throw failure("prctl(PR_SET_NO_NEW_PRIVS)");
}

void drop_privileges(const RunAs& to) {
  if (::geteuid() == to.uid && ::getegid() == to.gid && ::getuid() == to.uid && ::getgid() == to.gid) return;
  if (::geteuid() != 0)
    throw std::runtime_error("cannot switch to user " + to.user + ": not started as root (uid " +
                             std::to_string(::geteuid()) + ")");
  // glibc applies each of these to every thread of the process.
  if (::initgroups(to.user.c_str(), to.gid) != 0) throw failure("setgroups for " + to.user);
  if (::setgid(to.gid) != 0) throw failure("setgid(" + std::to_string(to.gid) + ")");
  if (::setuid(to.uid) != 0) throw failure("setuid(" + std::to_string(to.uid) + ")");
  if (to.uid != 0 && (::setuid(0) == 0 || ::seteuid(0) == 0))
    throw std::runtime_error("root could be regained after dropping to " + to.user);
}

}  // namespace meridian::runtime
