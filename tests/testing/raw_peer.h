// RawPeer: speaks the coordinator protocol by hand, over a blocking socket,
// for tests of peers that misbehave on purpose (and of ones that do not).
#pragma once

#include <nlohmann/json.hpp>

#include <poll.h>

#include <array>
#include <boost/asio.hpp>
#include <string>

#include "coordinator/protocol/auth.h"
#include "coordinator/protocol/client.h"
#include "coordinator/protocol/connection.h"
#include "coordinator/protocol/framing.h"

namespace qg::testing {

class RawPeer {
 public:
  // Plain TCP, or TLS with `tls` (a client context: the coordinator's certificate is checked).
  explicit RawPeer(const protocol::Endpoint& at, const protocol::TlsContext& tls = nullptr)
      : transport_(Connect(io_, at, tls)) {}
  nlohmann::json Challenge() { return *protocol::ReadMessage(transport_); }
  // The hello a real peer sends, answering the challenge; the reply.
  Result<nlohmann::json> Hello(const std::string& token, const std::string& role, const std::string& name,
                               nlohmann::json resources = {{"cpus", 1}}) {
    const auto challenge = Challenge();
    nlohmann::json hello{{"type", "hello"},
                         {"protocol", protocol::kProtocolVersion},
                         {"role", role},
                         {"name", name},
                         {"proof", protocol::ComputeProof(token, challenge["nonce"].get<std::string>(), role, name)}};
    if (role == "worker") hello["resources"] = resources;
    QG_RETURN_IF_ERROR(protocol::WriteMessage(transport_, hello));
    return protocol::ReadMessage(transport_);
  }
  Result<nlohmann::json> Read() { return protocol::ReadMessage(transport_); }
  // The next message if one starts arriving within `ms`, else Unavailable:
  // to check that nothing arrives.
  Result<nlohmann::json> ReadWithin(int ms) {
    pollfd p{.fd = transport_.socket().native_handle(), .events = POLLIN, .revents = 0};
    if (::poll(&p, 1, ms) <= 0) return Error::Unavailable("nothing arrived within {} ms", ms);
    return protocol::ReadMessage(transport_);
  }
  void Write(const nlohmann::json& m) { (void)protocol::WriteMessage(transport_, m); }
  void WriteRaw(const std::string& bytes) {
    boost::system::error_code ec;
    transport_.Write(boost::asio::buffer(bytes), ec);
  }
  // True when the coordinator closed the connection (within `ms`).
  bool Closed(int ms = 10000) {
    pollfd p{.fd = transport_.socket().native_handle(), .events = POLLIN, .revents = 0};
    if (::poll(&p, 1, ms) <= 0) return false;
    std::array<char, 1> b{};
    boost::system::error_code ec;
    transport_.socket().read_some(boost::asio::buffer(b), ec);
    return ec == boost::asio::error::eof || ec == boost::asio::error::connection_reset;
  }
  void Close() { transport_.Close(); }

 private:
  static protocol::Transport Connect(boost::asio::io_context& io, const protocol::Endpoint& at,
                                     const protocol::TlsContext& tls) {
    auto t = protocol::Dial(io, at, tls);
    if (!t) throw std::runtime_error(t.error().ToString());
    return std::move(*t);
  }

  boost::asio::io_context io_;
  protocol::Transport transport_;
};

}  // namespace qg::testing
