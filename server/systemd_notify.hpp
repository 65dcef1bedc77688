// sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET (a path, or
// an abstract socket when it starts with '@'). Without $NOTIFY_SOCKET (not
// started by systemd as Type=notify) every call does nothing.
#pragma once
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace meridian::cli {

class SystemdNotifier {
 public:
  // Reads $NOTIFY_SOCKET and $WATCHDOG_USEC (honoured only when $WATCHDOG_PID
  // is unset or names this process) once.
  SystemdNotifier();
  ~SystemdNotifier();
  SystemdNotifier(const SystemdNotifier&) = delete;
  SystemdNotifier& operator=(const SystemdNotifier&) = delete;

  bool enabled() const { return fd_ >= 0; }
  // Sends newline-separated assignments, e.g. "READY=1\nSTATUS=...". False when
  // not enabled or the send failed.
  bool notify(const std::string& state) const;
  // "RELOADING=1\nMONOTONIC_USEC=<now>" as systemd wants it before a reload.
  bool reloading() const;
  // WATCHDOG=1 every half of $WATCHDOG_USEC on a thread of its own, until destroyed.
  void start_watchdog();
  std::chrono::microseconds watchdog_interval() const { return watchdog_; }

 private:
  int fd_ = -1;
  std::string address_;  // sockaddr_un path, '\0'-led when abstract
  std::chrono::microseconds watchdog_{0};
  std::mutex mutex_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  std::thread watchdog_thread_;
};

}  // namespace meridian::cli
