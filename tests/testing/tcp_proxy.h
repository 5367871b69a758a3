// TcpProxy: a man in the middle for tests. It forwards loopback TCP
// connections to a target, keeps a copy of every byte it sees (to check what
// crosses the wire), and can freeze: stop forwarding without closing
// anything, as a network partition or a stuck middlebox does.
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace qg::testing {

class TcpProxy {
 public:
  explicit TcpProxy(uint16_t target_port) : target_(target_port) {
    listen_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listen_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a = Loopback(0);
    ::bind(listen_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(listen_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    ::listen(listen_, 64);
    accept_ = std::thread([this] { AcceptLoop(); });
  }
  ~TcpProxy() {
    stop_ = true;
    ::shutdown(listen_, SHUT_RDWR);
    ::close(listen_);
    accept_.join();  // no more pumps start after this
    for (auto& t : threads_) t.join();
    for (int fd : fds_) ::close(fd);
  }

  uint16_t port() const { return port_; }
  void Freeze() { frozen_ = true; }
  std::string Seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }

 private:
  static sockaddr_in Loopback(uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    return a;
  }

  void AcceptLoop() {
    while (!stop_) {
      pollfd p{.fd = listen_, .events = POLLIN, .revents = 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int client = ::accept(listen_, nullptr, nullptr);
      if (client < 0) continue;
      const int server = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a = Loopback(target_);
      if (::connect(server, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(client);
        ::close(server);
        continue;
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        fds_.push_back(client);
        fds_.push_back(server);
      }
      threads_.emplace_back([this, client, server] { Pump(client, server); });
      threads_.emplace_back([this, client, server] { Pump(server, client); });
    }
  }

  void Pump(int from, int to) {
    char buf[16384];
    while (!stop_) {
      if (frozen_) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        continue;
      }
      pollfd p{.fd = from, .events = POLLIN, .revents = 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const ssize_t n = ::read(from, buf, sizeof buf);
      if (n <= 0) {
        ::shutdown(to, SHUT_WR);
        return;
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        seen_.append(buf, static_cast<size_t>(n));
      }
      if (::write(to, buf, static_cast<size_t>(n)) != n) return;
    }
  }

  uint16_t target_;
  uint16_t port_ = 0;
  int listen_ = -1;
  std::atomic<bool> stop_{false}, frozen_{false};
  std::mutex mu_;
  std::string seen_;
  std::vector<int> fds_;
  std::thread accept_;
  std::vector<std::thread> threads_;
};

}  // namespace qg::testing
