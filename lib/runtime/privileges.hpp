// Dropping root after every listener is bound (`"user"` in meridian.json).
#pragma once
#include <sys/types.h>

#include <optional>
#include <string>

namespace meridian::runtime {

struct RunAs {
  std::string user;   // as named in the config
  std::string group;  // the group's name (the user's primary group unless named)
  uid_t uid = 0;
  gid_t gid = 0;
};

// "user" or "user:group", resolved through the system's user database. nullopt
// with `error` set when the user or group does not exist.
std::optional<RunAs> resolve_run_as(const std::string& spec, std::string& error);

// Sets no_new_privs for the calling thread and every thread it starts later;
// call it before the first thread starts so the whole process has it.
void forbid_new_privileges();

// setgroups (the user's groups), setgid, setuid, in that order, then checks
// that root cannot be regained. Throws std::runtime_error naming the step that failed.
// Already running as `to` (uid and gid): nothing to do.
void drop_privileges(const RunAs& to);

}  // namespace meridian::runtime
