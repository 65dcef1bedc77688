#include "systemd_notify.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace meridian::cli {

SystemdNotifier::SystemdNotifier() {
  const char* socket_path = std::getenv("NOTIFY_SOCKET");
  if (socket_path && (socket_path[0] == '/' || socket_path[0] == '@') &&
      std::strlen(socket_path) < sizeof(sockaddr_un::sun_path)) {
    address_ = socket_path;
    if (address_[0] == '@') address_[0] = '\0';
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  }
  const char* usec = std::getenv("WATCHDOG_USEC");
  const char* pid = std::getenv("WATCHDOG_PID");
  if (usec && (!pid || std::strtoll(pid, nullptr, 10) == ::getpid())) {
    const long long value = std::strtoll(usec, nullptr, 10);
    if (value > 0) watchdog_ = std::chrono::microseconds(value);
  }
}

SystemdNotifier::~SystemdNotifier() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (watchdog_thread_.joinable()) watchdog_thread_.join();
  if (fd_ >= 0) ::close(fd_);
}

bool SystemdNotifier::notify(const std::string& state) const {
  if (fd_ < 0) return false;
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, address_.data(), address_.size());
  const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address_.size() +
                                             (address_[0] == '\0' ? 0 : 1));
  // Never wait for the reader: a notify socket nobody drains (a test, a broken
  // supervisor) must not stall a reload or the shutdown; the message is dropped.
  const ssize_t sent = ::sendto(fd_, state.data(), state.size(), MSG_NOSIGNAL | MSG_DONTWAIT,
                                reinterpret_cast<const sockaddr*>(&sa), length);
  return sent == static_cast<ssize_t>(state.size());
}

bool SystemdNotifier::reloading() const {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  const long long usec = static_cast<long long>(now.tv_sec) * 1000000 + now.tv_nsec / 1000;
  return notify("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

void SystemdNotifier::start_watchdog() {
  if (fd_ < 0 || watchdog_.count() == 0 || watchdog_thread_.joinable()) return;
  watchdog_thread_ = std::thread([this] {
    std::unique_lock lock(mutex_);
    while (!stop_) {
      notify("WATCHDOG=1");
      stop_cv_.wait_for(lock, watchdog_ / 2, [this] { return stop_; });
    }
  });
}

}  // namespace meridian::cli
