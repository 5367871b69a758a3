#include "coordinator/protocol/connection.h"

#include <algorithm>
#include <charconv>

namespace qg::protocol {

namespace asio = boost::asio;
using asio::ip::tcp;

std::shared_ptr<FramedConnection> FramedConnection::Create(Transport transport, uint32_t max_frame_bytes,
                                                          bool accept_tls) {
  return std::shared_ptr<FramedConnection>(new FramedConnection(std::move(transport), max_frame_bytes, accept_tls));
}

FramedConnection::FramedConnection(Transport transport, uint32_t max_frame_bytes, bool accept_tls)
    : transport_(std::move(transport)), max_frame_bytes_(max_frame_bytes), handshaking_(accept_tls && transport_.tls()) {
  boost::system::error_code ec;
  const auto remote = transport_.socket().remote_endpoint(ec);
  peer_address_ = ec ? "unknown" : remote.address().to_string();
  peer_ = ec ? "unknown peer" : peer_address_ + ":" + std::to_string(remote.port());
  transport_.socket().set_option(tcp::no_delay(true), ec);  // small request/response messages
}

void FramedConnection::Start(MessageHandler on_message, CloseHandler on_close) {
  on_message_ = std::move(on_message);
  on_close_ = std::move(on_close);
  started_ = true;
  if (!handshaking_) return ReadHeader();
  transport_.AsyncAccept([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!self->open_) return;
    if (ec) return self->Close("TLS handshake failed: " + ec.message());
    self->handshaking_ = false;
    if (!self->outbox_.empty()) self->WriteNext();
    self->ReadHeader();
  });
}

void FramedConnection::ReadHeader() {
  transport_.AsyncRead(asio::buffer(header_),
                   [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                     if (!self->open_) return;
                     if (ec) {
                       self->Close(ec == asio::error::eof ? "peer closed the connection"
                                                          : "read failed: " + ec.message());
                       return;
                     }
                     auto size = DecodeFrameHeader(self->header_, self->max_frame_bytes_);
                     if (!size) {
                       self->Close(size.error().message);
                       return;
                     }
                     self->payload_.clear();
                     self->ReadPayload(*size);
                   });
}

void FramedConnection::ReadPayload(uint32_t size) {
  constexpr size_t kChunk = 64 << 10;
  const size_t have = payload_.size();
  const size_t next = std::min<size_t>(kChunk, size - have);
  payload_.resize(have + next);
  transport_.AsyncRead(asio::buffer(payload_.data() + have, next),
                   [self = shared_from_this(), size](const boost::system::error_code& ec, size_t) {
                     if (!self->open_) return;
                     if (ec) {
                       self->Close(ec == asio::error::eof ? "truncated frame: peer closed mid-payload"
                                                          : "read failed: " + ec.message());
                       return;
                     }
                     if (self->payload_.size() < size) return self->ReadPayload(size);
                     auto message = DecodePayload(self->payload_);
                     std::string().swap(self->payload_);  // a big frame's memory goes back now
                     if (!message) {
                       self->Close(message.error().message);
                       return;
                     }
                     self->on_message_(std::move(*message));
                     if (self->open_) self->ReadHeader();
                   });
}

void FramedConnection::Send(const nlohmann::json& message) {
  if (!open_ || !close_after_write_.empty()) return;
  auto frame = EncodeFrame(message, max_frame_bytes_);
  if (!frame) {
    Close(frame.error().message);
    return;
  }
  outbox_.push_back(std::move(*frame));
  if (outbox_.size() == 1 && !handshaking_) WriteNext();
}

void FramedConnection::SendAndClose(const nlohmann::json& message, const std::string& reason) {
  Send(message);
  if (!open_) return;
  close_after_write_ = reason;
  if (outbox_.empty()) Close(reason);
}

void FramedConnection::WriteNext() {
  transport_.AsyncWrite(asio::buffer(outbox_.front()),
                    [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                      if (!self->open_) return;
                      if (ec) {
                        self->Close("write failed: " + ec.message());
                        return;
                      }
                      self->outbox_.pop_front();
                      if (!self->outbox_.empty()) {
                        self->WriteNext();
                      } else if (!self->close_after_write_.empty()) {
                        self->Close(self->close_after_write_);
                      }
                    });
}

void FramedConnection::Close(const std::string& reason) {
  if (!open_) return;
  open_ = false;
  transport_.Close();
  outbox_.clear();
  if (started_ && on_close_) {
    // Deferred, so a handler that closes a connection never re-enters its
    // owner's bookkeeping mid-iteration.
    on_message_ = nullptr;
    asio::post(transport_.socket().get_executor(),
               [self = shared_from_this(), handler = std::move(on_close_), reason] { handler(reason); });
  }
}

Status WriteMessage(Transport& transport, const nlohmann::json& message) {
  QG_ASSIGN_OR_RETURN(auto frame, EncodeFrame(message));
  boost::system::error_code ec;
  transport.Write(asio::buffer(frame), ec);
  if (ec) return Error::Unavailable("sending '{}' failed: {}", TypeOf(message), ec.message());
  return OkStatus();
}

Result<nlohmann::json> ReadMessage(Transport& transport, uint32_t max_frame_bytes) {
  std::array<uint8_t, kFrameHeaderBytes> header{};
  boost::system::error_code ec;
  transport.Read(asio::buffer(header), ec);
  if (ec) return Error::Unavailable("connection closed by the peer ({})", ec.message());
  QG_ASSIGN_OR_RETURN(uint32_t size, DecodeFrameHeader(header, max_frame_bytes));
  std::string payload(size, '\0');
  transport.Read(asio::buffer(payload), ec);
  if (ec) return Error::Corruption("truncated frame: {}", ec.message());
  return DecodePayload(payload);
}

uint16_t FreeLoopbackPort() {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

Result<Endpoint> ParseEndpoint(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    return Error::InvalidArgument("'{}' is not HOST:PORT", text);
  }
  Endpoint e;
  e.host = text.substr(0, colon);
  int port = -1;
  const char* first = text.data() + colon + 1;
  const char* last = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(first, last, port);
  if (ec != std::errc() || ptr != last || port < 0 || port > 65535) {
    return Error::InvalidArgument("'{}' is not HOST:PORT (bad port)", text);
  }
  e.port = static_cast<uint16_t>(port);
  return e;
}

}  // namespace qg::protocol
