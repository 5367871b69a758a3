// Transport: the byte stream under a connection: plain TCP, or TLS over TCP
// (Boost.Asio's ssl::stream on OpenSSL). FramedConnection and the blocking
// client helpers read and write through it and do not care which.
//
// With TLS, payloads (specs, results) are encrypted and a client verifies the
// coordinator's certificate against its CA and the host it dialled, so the
// HMAC challenge cannot be relayed by a man in the middle.
#pragma once

// Boost 1.74's asio/awaitable.hpp uses std::exchange without <utility>.
#include <utility>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <memory>
#include <optional>
#include <string>

#include "core/base/result.h"

namespace qg::protocol {

class Transport {
 public:
  using Socket = boost::asio::ip::tcp::socket;
  using TlsStream = boost::asio::ssl::stream<Socket>;

  explicit Transport(Socket socket) : plain_(std::move(socket)) {}
  explicit Transport(TlsStream stream) : tls_(std::make_unique<TlsStream>(std::move(stream))) {}

  bool tls() const { return tls_ != nullptr; }
  Socket& socket() { return tls_ ? tls_->next_layer() : *plain_; }

  template <typename Buffers, typename Handler>
  void AsyncRead(const Buffers& buffers, Handler&& handler) {
    if (tls_) {
      boost::asio::async_read(*tls_, buffers, std::forward<Handler>(handler));
    } else {
      boost::asio::async_read(*plain_, buffers, std::forward<Handler>(handler));
    }
  }
  template <typename Buffers, typename Handler>
  void AsyncWrite(const Buffers& buffers, Handler&& handler) {
    if (tls_) {
      boost::asio::async_write(*tls_, buffers, std::forward<Handler>(handler));
    } else {
      boost::asio::async_write(*plain_, buffers, std::forward<Handler>(handler));
    }
  }
  // Blocking, for short-lived clients.
  template <typename Buffers>
  size_t Read(const Buffers& buffers, boost::system::error_code& ec) {
    return tls_ ? boost::asio::read(*tls_, buffers, ec) : boost::asio::read(*plain_, buffers, ec);
  }
  template <typename Buffers>
  size_t Write(const Buffers& buffers, boost::system::error_code& ec) {
    return tls_ ? boost::asio::write(*tls_, buffers, ec) : boost::asio::write(*plain_, buffers, ec);
  }
  // The server side of the TLS handshake (nothing to do for plain TCP).
  template <typename Handler>
  void AsyncAccept(Handler&& handler) {
    if (!tls_) return handler(boost::system::error_code());
    tls_->async_handshake(boost::asio::ssl::stream_base::server, std::forward<Handler>(handler));
  }
  void Close() {
    boost::system::error_code ec;
    socket().shutdown(Socket::shutdown_both, ec);
    socket().close(ec);
  }

 private:
  std::optional<Socket> plain_;
  std::unique_ptr<TlsStream> tls_;
};

// TLS settings, both ends. A null context means plain TCP.
using TlsContext = std::shared_ptr<boost::asio::ssl::context>;
// The coordinator's: its certificate chain and private key (PEM).
// InvalidArgument naming the file that cannot be used.
Result<TlsContext> ServerTlsContext(const std::string& cert_file, const std::string& key_file);
// A client's: the CA (PEM) the coordinator's certificate must chain to.
Result<TlsContext> ClientTlsContext(const std::string& ca_file);

}  // namespace qg::protocol
