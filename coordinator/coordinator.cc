#include "coordinator/coordinator.h"

#include <boost/asio.hpp>
#include <map>

#include "coordinator/client_verbs.h"
#include "coordinator/health_check.h"
#include "coordinator/job_queue.h"
#include "coordinator/log_limiter.h"
#include "coordinator/protocol/auth.h"
#include "coordinator/protocol/connection.h"
#include "coordinator/protocol/messages.h"
#include "coordinator/worker_pool.h"
#include "core/base/log_text.h"
#include "core/base/logging.h"
#include "storage/sqlite_result_store.h"

namespace qg::coord {

namespace asio = boost::asio;
using asio::ip::tcp;
using nlohmann::json;
using protocol::FramedConnection;
using std::chrono::milliseconds;

namespace {

// A connection, from accept to close.
struct Peer {
  std::shared_ptr<FramedConnection> conn;
  std::string nonce;
  bool authenticated = false;
  std::string role;
};

}  // namespace

class Coordinator::Impl {
 public:
  Impl(CoordinatorOptions options, std::unique_ptr<storage::SqliteResultStore> store)
      : options_(std::move(options)),
        clock_(options_.clock ? *options_.clock : SystemClock::Instance()),
        store_(std::move(store)),
        log_(Log("coordinator")),
        queue_(*store_, clock_, options_.retry, options_.artifact_root),
        workers_(queue_, options_.lease_ms, options_.artifact_root, log_),
        verbs_(queue_, workers_, log_),
        health_(clock_, [this](uint64_t id, const std::string& why) { OnSilent(id, why); }),
        warnings_(clock_),
        acceptor_(io_),
        tick_(io_),
        accept_retry_(io_) {}

  Status Listen() {
    QG_ASSIGN_OR_RETURN(auto endpoint, protocol::ParseEndpoint(options_.listen));
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(endpoint.host == "localhost" ? "127.0.0.1" : endpoint.host, ec);
    if (ec) return Error::InvalidArgument("--listen {}: '{}' is not an IP address", options_.listen, endpoint.host);
    const tcp::endpoint at(address, endpoint.port);
    acceptor_.open(at.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(at, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Error::Unavailable("cannot listen on {}: {}", options_.listen, ec.message());
    port_ = acceptor_.local_endpoint().port();
    return OkStatus();
  }

  Status Recover() {
    QG_ASSIGN_OR_RETURN(int requeued, queue_.Recover());
    if (requeued > 0) log_->info("recovered: {} job(s) left running by a previous coordinator are pending again", requeued);
    return OkStatus();
  }

  Status Run() {
    const auto address = acceptor_.local_endpoint().address();
    log_->info("listening on {}:{}{} (database {})", address.to_string(), port_, options_.tls ? " with TLS" : "",
               options_.db);
    if (!options_.tls && !address.is_loopback()) {
      log_->warn("listening on {} without TLS: specs and results cross the network in the clear, and workers "
                 "cannot tell this coordinator from an impostor (--tls-cert/--tls-key; deploy/tls-certs.sh)",
                 address.to_string());
    }
    Accept();
    ScheduleTick();
    io_.run();
    return fatal_;
  }

  void Stop() {
    asio::post(io_, [this] { Shutdown(OkStatus()); });
  }

  uint16_t port() const { return port_; }

 private:
  void Shutdown(Status why) {
    if (stopping_) return;
    stopping_ = true;
    fatal_ = std::move(why);
    boost::system::error_code ec;
    acceptor_.close(ec);
    tick_.cancel();
    accept_retry_.cancel();
    for (auto& [id, p] : std::map<uint64_t, Peer>(peers_)) p.conn->Close("coordinator stopping");
    io_.stop();
  }

  // A store error leaves the coordinator unable to keep its promises: stop
  // rather than hand out work it cannot record. Never for what a peer sent.
  bool CheckStore(const Status& s, std::string_view what) {
    if (s) return true;
    log_->error("{}: {}", what, s.error().ToString());
    Shutdown(s.error().WithContext(std::string(what)));
    return false;
  }

  void Warn(const std::string& text) {
    if (warnings_.Allow([this](int64_t n) { log_->warn("{} more warnings about peers were suppressed", n); })) {
      log_->warn("{}", text);
    }
  }

  // ---- connections ----

  void Accept() {
    acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
      if (stopping_) return;
      if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space || ec == asio::error::no_memory) {
        // Out of descriptors: spinning on accept would starve everyone.
        // Wait for connections to close, then take new ones again.
        Warn("cannot accept connections (" + ec.message() + "); pausing accepts for 100 ms");
        accept_retry_.expires_after(milliseconds(100));
        accept_retry_.async_wait([this](const boost::system::error_code& e) {
          if (!e && !stopping_) Accept();
        });
        return;
      }
      if (!ec) OnConnect(std::move(socket));
      Accept();
    });
  }

  // Connections that have not authenticated yet (from `address`, or from
  // anywhere when it is empty), oldest first.
  std::vector<uint64_t> Unauthenticated(const std::string& address) const {
    std::vector<uint64_t> ids;
    for (const auto& [id, p] : peers_) {
      if (!p.authenticated && p.conn->open() && (address.empty() || p.conn->peer_address() == address)) {
        ids.push_back(id);
      }
    }
    return ids;
  }

  // Past a cap, the oldest unauthenticated connection makes room: a flood of
  // idle connections cannot lock out a real worker, whose hello follows its
  // connect within milliseconds.
  void MakeRoomFor(const std::string& address) {
    for (const auto& [scope, cap] : {std::pair<std::string, int>{address, options_.max_unauthenticated_per_address},
                                     std::pair<std::string, int>{"", options_.max_unauthenticated}}) {
      const auto waiting = Unauthenticated(scope);
      for (size_t i = 0; i + static_cast<size_t>(std::max(cap, 1)) <= waiting.size(); ++i) {
        Peer& oldest = peers_.at(waiting[i]);
        Warn(fmt::format("evicted {}: too many connections that have not authenticated", oldest.conn->peer()));
        oldest.conn->Close("evicted: too many unauthenticated connections");
      }
    }
  }

  void OnConnect(tcp::socket socket) {
    auto conn = options_.tls ? FramedConnection::Create(protocol::Transport(protocol::Transport::TlsStream(
                                                            std::move(socket), *options_.tls)),
                                                        protocol::kMaxPreAuthFrameBytes, /*accept_tls=*/true)
                             : FramedConnection::Create(std::move(socket), protocol::kMaxPreAuthFrameBytes);
    MakeRoomFor(conn->peer_address());
    const uint64_t id = ++next_peer_;
    Peer& p = peers_[id];
    p.conn = conn;
    p.nonce = protocol::RandomNonce();
    health_.Watch(id, milliseconds(options_.handshake_timeout_ms), "no hello in time");
    conn->Start([this, id](json message) { OnMessage(id, std::move(message)); },
                [this, id](const std::string& reason) { OnClose(id, reason); });
    conn->Send({{"type", "challenge"}, {"protocol", protocol::kProtocolVersion}, {"nonce", p.nonce}});
  }

  void OnClose(uint64_t id, const std::string& reason) {
    auto it = peers_.find(id);
    if (it == peers_.end()) return;
    if (workers_.Has(id)) {
      workers_.Leave(id, reason);
    } else if (!it->second.authenticated && reason != "peer closed the connection" &&
               reason.rfind("refused", 0) != 0) {
      Warn(fmt::format("dropped {} before authentication: {}", it->second.conn->peer(), EscapeForLog(reason)));
    }
    health_.Forget(id);
    peers_.erase(it);
  }

  void OnSilent(uint64_t id, const std::string& why) {
    auto it = peers_.find(id);
    if (it == peers_.end()) return;
    if (it->second.role == "worker") log_->warn("worker on {} {}: declared dead", it->second.conn->peer(), why);
    it->second.conn->Close(why);
  }

  // Answers `error` and closes this one connection.
  void Refuse(Peer& p, const Error& error) {
    Warn(fmt::format("refused {}: {}", p.conn->peer(), EscapeForLog(error.message)));
    p.conn->SendAndClose(ClientVerbs::ErrorReply(error), "refused: " + error.message);
  }

  // ---- messages ----

  void OnMessage(uint64_t id, json message) {
    Peer& p = peers_.at(id);
    health_.Beat(id);
    if (!p.authenticated) return OnHello(id, p, message);
    if (p.role == "worker") return OnWorkerMessage(id, p, message);
    OnClientRequest(p, message);
  }

  const std::string& TokenFor(const std::string& role) const {
    const std::string& own = role == "worker" ? options_.worker_token : options_.client_token;
    return own.empty() ? options_.token : own;
  }

  void OnHello(uint64_t id, Peer& p, const json& message) {
    auto hello = protocol::ParseHello(message);
    if (!hello) return Refuse(p, hello.error());
    if (!protocol::VerifyProof(TokenFor(hello->role), p.nonce, hello->role, hello->name, hello->proof)) {
      return Refuse(p, Error::Unauthenticated("authentication failed (wrong or missing token for a {})", hello->role));
    }
    if (hello->role == "worker") {
      if (auto joined = workers_.Join(id, hello->name, hello->resources, p.conn); !joined) {
        return Refuse(p, joined.error());
      }
      health_.Watch(id, milliseconds(options_.heartbeat_ms * options_.missed_heartbeats),
                    fmt::format("missed {} heartbeats", options_.missed_heartbeats));
    } else {
      health_.Forget(id);  // a client asks and waits; it owes no heartbeats
    }
    p.authenticated = true;
    p.role = hello->role;
    p.conn->SetMaxFrameBytes(protocol::kMaxFrameBytes);
    p.conn->Send({{"type", "welcome"}, {"heartbeat_ms", options_.heartbeat_ms}, {"lease_ms", options_.lease_ms}});
    if (p.role == "worker") CheckStore(workers_.Dispatch(), "leasing a job");
  }

  void OnWorkerMessage(uint64_t id, Peer& p, const json& message) {
    auto m = protocol::ParseWorkerMessage(message);
    if (!m) return Refuse(p, m.error());
    if (const auto* beat = std::get_if<protocol::Heartbeat>(&*m)) return workers_.OnHeartbeat(id, *beat);
    if (const auto* line = std::get_if<protocol::LogLine>(&*m)) return workers_.OnLog(id, *line);
    auto stored = workers_.OnResult(id, std::get<protocol::ResultMessage>(*m));
    if (!stored && stored.error().code == ErrorCode::kInvalidArgument) return Refuse(p, stored.error());
    if (!CheckStore(stored, "storing a result")) return;
    CheckStore(workers_.Dispatch(), "leasing a job");
  }

  void OnClientRequest(Peer& p, const json& message) {
    auto request = protocol::ParseClientRequest(message);
    if (!request) return Refuse(p, request.error());
    p.conn->Send(verbs_.Handle(*request));
    CheckStore(workers_.Dispatch(), "leasing a job");
  }

  // ---- time ----

  void ScheduleTick() {
    tick_.expires_after(milliseconds(std::clamp<int64_t>(options_.heartbeat_ms / 2, 10, 250)));
    tick_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopping_) return;
      Tick();
      ScheduleTick();
    });
  }

  void Tick() {
    health_.Check();
    auto expired = queue_.ExpireLeases();
    if (!CheckStore(expired.has_value() ? OkStatus() : Status(expired.error()), "expiring leases")) return;
    for (const auto& lease : *expired) {
      log_->warn("lease {} expired: its job is pending again", lease);
      workers_.Revoke(lease, /*expired=*/true);
    }
    CheckStore(workers_.Dispatch(), "leasing a job");  // backoffs end, new capacity
  }

  CoordinatorOptions options_;
  const Clock& clock_;
  std::unique_ptr<storage::SqliteResultStore> store_;
  std::shared_ptr<spdlog::logger> log_;
  JobQueue queue_;
  WorkerPool workers_;
  ClientVerbs verbs_;
  HealthCheck health_;
  LogLimiter warnings_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  asio::steady_timer tick_;
  asio::steady_timer accept_retry_;
  std::map<uint64_t, Peer> peers_;
  uint64_t next_peer_ = 0;
  std::atomic<uint16_t> port_{0};
  bool stopping_ = false;
  Status fatal_ = OkStatus();
};

Result<std::unique_ptr<Coordinator>> Coordinator::Start(const CoordinatorOptions& options) {
  if (options.token.empty() && (options.worker_token.empty() || options.client_token.empty())) {
    return Error::InvalidArgument("the coordinator needs a cluster token (or a worker and a client token)");
  }
  // A lock held elsewhere is waited for well inside the dead-worker window:
  // the io thread must not sit in SQLite while workers' heartbeats go unread.
  const int busy_ms = static_cast<int>(std::clamp<int64_t>(options.heartbeat_ms * options.missed_heartbeats / 4, 100, 5000));
  QG_ASSIGN_OR_RETURN(auto store, storage::SqliteResultStore::Open(options.db, SystemClock::Instance(),
                                                                   {.busy_timeout_ms = busy_ms}));
  auto impl = std::make_unique<Impl>(options, std::move(store));
  QG_RETURN_IF_ERROR(impl->Recover());
  QG_RETURN_IF_ERROR(impl->Listen());
  return std::unique_ptr<Coordinator>(new Coordinator(std::move(impl)));
}

Coordinator::Coordinator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Coordinator::~Coordinator() = default;
Status Coordinator::Run() { return impl_->Run(); }
void Coordinator::Stop() { impl_->Stop(); }
uint16_t Coordinator::port() const { return impl_->port(); }

}  // namespace qg::coord
