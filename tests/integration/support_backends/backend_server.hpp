// Tiny HTTP/TCP backends for health-check tests, header-only: a server on
// 127.0.0.1 (port 0 picks a free port) run by one thread, whose answers the test
// controls: a status and body, a script of answers for the next requests,
// "hang" (accept and read but never answer), "reset" (close at once), a delay,
// and stop/start of the listener itself (stopped: connection refused).
#pragma once
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace meridian::test::backends {

struct Reply {
  int status = 200;
  std::string body = "OK healthy\n";
  bool hang = false;   // read the request, never answer (a timeout for the checker)
  bool reset = false;  // close the connection without an answer
  std::chrono::milliseconds delay{0};

  Reply() = default;
  Reply(int code, std::string text, bool hang_up = false, bool reset_conn = false)
      : status(code), body(std::move(text)), hang(hang_up), reset(reset_conn) {}

  static Reply ok(std::string text = "OK healthy\n") { return Reply(200, std::move(text)); }
  static Reply status_code(int code, std::string text = "nope\n") { return Reply(code, std::move(text)); }
  static Reply hanging() { return Reply(0, "", true, false); }
};

class Backend {
 public:
  Backend() {
    if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) throw std::runtime_error("pipe2 failed");
    if (!open_listener(0)) throw std::runtime_error("backend: cannot listen on 127.0.0.1:0");
    thread_ = std::thread([this] { run(); });
  }
  ~Backend() {
    {
      std::lock_guard lock(mutex_);
      quit_ = true;
    }
    poke();
    if (thread_.joinable()) thread_.join();
    for (auto& [fd, c] : clients_) ::close(fd);
    if (listen_fd_ >= 0) ::close(listen_fd_);
    ::close(wake_[0]);
    ::close(wake_[1]);
  }
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  // The answer for every request not covered by a script.
  void set_reply(Reply r) {
    std::lock_guard lock(mutex_);
    default_ = std::move(r);
    script_.clear();
  }
  // Answers for the next requests, in order; then the default applies again.
  void script(std::vector<Reply> replies, Reply then) {
    std::lock_guard lock(mutex_);
    script_.assign(replies.begin(), replies.end());
    default_ = std::move(then);
  }

  // Closes the listener and every open connection: connects are refused.
  void stop_listening() { command(false); }
  // Listens again on the same port; false when the port was taken meanwhile.
  bool start_listening() { return command(true); }

  uint64_t connections() const {
    std::lock_guard lock(mutex_);
    return connections_;
  }
  // Requests whose header was read completely.
  uint64_t requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  // Responses sent with this status.
  uint64_t served(int status) const {
    std::lock_guard lock(mutex_);
    const auto it = served_.find(status);
    return it == served_.end() ? 0 : it->second;
  }
  std::string last_request() const {
    std::lock_guard lock(mutex_);
    return last_request_;
  }

 private:
  struct Client {
    std::string in;
    bool hanging = false;
    bool pending = false;
    Reply reply;
    std::chrono::steady_clock::time_point respond_at{};
  };

  void poke() {
    const char c = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_[1], &c, 1);
  }

  bool command(bool listen) {
    std::unique_lock lock(mutex_);
    want_listen_ = listen;
    const uint64_t seq = ++cmd_seq_;
    poke();
    done_.wait(lock, [&] { return applied_seq_ >= seq; });
    return listen_ok_;
  }

  bool open_listener(uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return false;
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(fd, 64) != 0) {
      ::close(fd);
      return false;
    }
    if (port == 0) {  // first bind only: the port stays the same across restarts
      socklen_t len = sizeof sa;
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
      port_ = ntohs(sa.sin_port);
    }
    listen_fd_ = fd;
    return true;
  }

  void close_client(int fd) {
    ::close(fd);
    clients_.erase(fd);
  }

  void respond(int fd, Client& c) {
    std::string out = "HTTP/1.1 " + std::to_string(c.reply.status) + " X\r\nContent-Type: text/plain\r\nContent-Length: " +
                      std::to_string(c.reply.body.size()) + "\r\nConnection: close\r\n\r\n" + c.reply.body;
    std::size_t off = 0;
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (off < out.size() && std::chrono::steady_clock::now() < end) {
      const ssize_t n = ::send(fd, out.data() + off, out.size() - off, MSG_NOSIGNAL);
      if (n > 0) off += static_cast<std::size_t>(n);
      else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        pollfd p{fd, POLLOUT, 0};
        ::poll(&p, 1, 100);
      } else break;
    }
    {
      std::lock_guard lock(mutex_);
      ++served_[c.reply.status];
    }
    ::shutdown(fd, SHUT_WR);
    close_client(fd);
  }

  void on_readable(int fd) {
    Client& c = clients_[fd];
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return close_client(fd);
    if (n < 0) return;
    if (c.hanging || c.pending) return;  // ignore anything after the request
    c.in.append(buf, static_cast<std::size_t>(n));
    if (c.in.size() > 65536) return close_client(fd);
    if (c.in.find("\r\n\r\n") == std::string::npos) return;
    {
      std::lock_guard lock(mutex_);
      ++requests_;
      last_request_ = c.in;
      if (!script_.empty()) {
        c.reply = script_.front();
        script_.pop_front();
      } else {
        c.reply = default_;
      }
    }
    if (c.reply.reset) {
      linger l{1, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
      return close_client(fd);
    }
    if (c.reply.hang) {
      c.hanging = true;
      return;
    }
    c.pending = true;
    c.respond_at = std::chrono::steady_clock::now() + c.reply.delay;
  }

  void run() {
    for (;;) {
      {
        std::lock_guard lock(mutex_);
        if (quit_) return;
        if (applied_seq_ != cmd_seq_) {
          if (!want_listen_) {
            if (listen_fd_ >= 0) ::close(listen_fd_);
            listen_fd_ = -1;
            for (auto& [fd, c] : clients_) ::close(fd);
            clients_.clear();
            listen_ok_ = true;
          } else {
            listen_ok_ = listen_fd_ >= 0 || open_listener(port_);
          }
          applied_seq_ = cmd_seq_;
          done_.notify_all();
        }
      }
      // Responses whose delay has passed.
      const auto now = std::chrono::steady_clock::now();
      std::vector<int> due;
      auto next = now + std::chrono::milliseconds(200);
      for (auto& [fd, c] : clients_) {
        if (!c.pending) continue;
        if (c.respond_at <= now) due.push_back(fd);
        else next = std::min(next, c.respond_at);
      }
      for (int fd : due) respond(fd, clients_[fd]);
      if (!due.empty()) continue;

      std::vector<pollfd> fds;
      fds.push_back({wake_[0], POLLIN, 0});
      if (listen_fd_ >= 0) fds.push_back({listen_fd_, POLLIN, 0});
      const std::size_t first_client = fds.size();
      for (auto& [fd, c] : clients_) fds.push_back({fd, POLLIN, 0});
      const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count();
      const int r = ::poll(fds.data(), fds.size(), static_cast<int>(std::max<long long>(wait, 1)));
      if (r <= 0) continue;
      if (fds[0].revents) {
        char sink[64];
        while (::read(wake_[0], sink, sizeof sink) > 0) {
        }
      }
      if (listen_fd_ >= 0 && fds[1].revents) {
        for (;;) {
          const int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
          if (c < 0) break;
          clients_[c] = Client{};
          std::lock_guard lock(mutex_);
          ++connections_;
        }
      }
      for (std::size_t i = first_client; i < fds.size(); ++i)
        if (fds[i].revents && clients_.count(fds[i].fd)) on_readable(fds[i].fd);
    }
  }

  int wake_[2] = {-1, -1};
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::map<int, Client> clients_;  // touched by the thread only
  std::thread thread_;

  mutable std::mutex mutex_;
  std::condition_variable done_;
  bool quit_ = false;
  bool want_listen_ = true;
  bool listen_ok_ = true;
  uint64_t cmd_seq_ = 0;
  uint64_t applied_seq_ = 0;
  Reply default_;
  std::deque<Reply> script_;
  uint64_t connections_ = 0;
  uint64_t requests_ = 0;
  std::map<int, uint64_t> served_;
  std::string last_request_;
};

}  // namespace meridian::test::backends
