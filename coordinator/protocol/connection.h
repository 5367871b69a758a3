// FramedConnection: one TCP peer speaking framed JSON (framing.h) on an
// io_context. Reads run in a loop and hand each message to a callback; sends
// are queued and written in order. Any protocol or socket error closes the
// connection once, with a reason, and never throws into the io_context.
//
// Threading: every method must run on the io_context's thread (post to it
// from elsewhere). The connection keeps itself alive while I/O is pending.
#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <boost/asio.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "coordinator/protocol/framing.h"
#include "coordinator/protocol/transport.h"

namespace qg::protocol {

class FramedConnection : public std::enable_shared_from_this<FramedConnection> {
 public:
  using MessageHandler = std::function<void(nlohmann::json message)>;
  using CloseHandler = std::function<void(const std::string& reason)>;

  // `accept_tls`: the transport is a server's TLS stream whose handshake runs
  // first, when the connection starts (messages sent meanwhile wait).
  static std::shared_ptr<FramedConnection> Create(Transport transport, uint32_t max_frame_bytes = kMaxFrameBytes,
                                                  bool accept_tls = false);
  static std::shared_ptr<FramedConnection> Create(boost::asio::ip::tcp::socket socket,
                                                  uint32_t max_frame_bytes = kMaxFrameBytes) {
    return Create(Transport(std::move(socket)), max_frame_bytes);
  }
  FramedConnection(const FramedConnection&) = delete;
  FramedConnection& operator=(const FramedConnection&) = delete;

  // Starts the read loop. `on_close` runs exactly once (posted, never from
  // inside another call on this connection); no message is delivered after
  // the connection closed.
  void Start(MessageHandler on_message, CloseHandler on_close);
  // Queues a message; dropped when the connection is closed.
  void Send(const nlohmann::json& message);
  // Sends `message`, then closes with `reason` once it is written.
  void SendAndClose(const nlohmann::json& message, const std::string& reason);
  // Closes now (idempotent).
  void Close(const std::string& reason);

  // The largest frame accepted from now on (a coordinator raises the
  // pre-authentication limit once the peer has proved the token).
  void SetMaxFrameBytes(uint32_t max_frame_bytes) { max_frame_bytes_ = max_frame_bytes; }

  bool open() const { return open_; }
  const std::string& peer() const { return peer_; }
  const std::string& peer_address() const { return peer_address_; }

 private:
  FramedConnection(Transport transport, uint32_t max_frame_bytes, bool accept_tls);
  void ReadHeader();
  // Reads the rest of a `size`-byte payload a chunk at a time: memory grows
  // with the bytes that arrive, not with the length a header claims.
  void ReadPayload(uint32_t size);
  void WriteNext();

  Transport transport_;
  uint32_t max_frame_bytes_;
  bool handshaking_ = false;  // a TLS handshake runs: writes wait for it
  std::string peer_;
  std::string peer_address_;
  bool open_ = true;
  bool started_ = false;
  std::string close_after_write_;  // non-empty: close with this reason when the queue drains
  std::array<uint8_t, kFrameHeaderBytes> header_{};
  std::string payload_;
  std::deque<std::string> outbox_;
  MessageHandler on_message_;
  CloseHandler on_close_;
};

// Blocking helpers for short-lived clients (CLI verbs, the worker's handshake).
Status WriteMessage(Transport& transport, const nlohmann::json& message);
// Unavailable when the peer closed; Corruption for a bad frame.
Result<nlohmann::json> ReadMessage(Transport& transport, uint32_t max_frame_bytes = kMaxFrameBytes);

// "host:port" → parts; InvalidArgument naming the text when malformed.
struct Endpoint {
  std::string host;
  uint16_t port = 0;
  std::string ToString() const { return host + ":" + std::to_string(port); }
};
Result<Endpoint> ParseEndpoint(const std::string& text);

// A TCP port on 127.0.0.1 that was free a moment ago (for a rendezvous or a
// test server; another process may still take it before it is bound again).
uint16_t FreeLoopbackPort();

}  // namespace qg::protocol
