// A test-owned stand-in for systemd's notify socket ($NOTIFY_SOCKET): a
// datagram socket on a path, or an abstract one when the address starts with '@'.
#pragma once
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "integration/harness/process.hpp"

namespace meridian::test {

// A datagram socket standing in for systemd's notify socket.
class NotifyListener {
 public:
  explicit NotifyListener(const std::string& address) : address_(address) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    REQUIRE(address.size() < sizeof sa.sun_path);
    std::memcpy(sa.sun_path, address.data(), address.size());
    const bool abstract = address[0] == '@';
    if (abstract) sa.sun_path[0] = '\0';
    const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address.size() + (abstract ? 0 : 1));
    REQUIRE_MESSAGE(::bind(fd_, reinterpret_cast<sockaddr*>(&sa), length) == 0, "bind " << address << ": " << std::strerror(errno));
  }
  ~NotifyListener() { ::close(fd_); }

  // Every message received by now, and those that arrive until one contains
  // needle or the deadline passes; true when one did.
  bool wait_for_message(const std::string& needle, std::chrono::milliseconds deadline = std::chrono::seconds(45)) {
    const auto end = Clock::now() + deadline;
    for (;;) {
      for (std::size_t i = seen_; i < messages_.size(); ++i)
        if (messages_[i].find(needle) != std::string::npos) {
          seen_ = i + 1;
          return true;
        }
      seen_ = messages_.size();
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
      if (left <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n > 0) messages_.emplace_back(buf, static_cast<std::size_t>(n));
    }
  }
  // The message wait_for_message found last.
  const std::string& last_found() const { return messages_.at(seen_ - 1); }
  std::size_t count(const std::string& needle) const {
    std::size_t n = 0;
    for (const auto& m : messages_) n += m.find(needle) != std::string::npos;
    return n;
  }
  std::string all() const {
    std::string text;
    for (const auto& m : messages_) text += "[" + m + "]\n";
    return text;
  }

 private:
  std::string address_;
  int fd_ = -1;
  std::vector<std::string> messages_;
  std::size_t seen_ = 0;  // messages looked at by wait_for_message
};

// Sets an environment variable for the meridian processes started while it lives.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) { ::setenv(name, value.c_str(), 1); }
  ~ScopedEnv() { ::unsetenv(name_); }

 private:
  const char* name_;
};

}  // namespace meridian::test
