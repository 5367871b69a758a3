#include "coordinator/coordinator.h"

#include <boost/asio.hpp>
#include <map>
#include <set>

#include "coordinator/job_queue.h"
#include "coordinator/protocol/auth.h"
#include "coordinator/protocol/connection.h"
#include "coordinator/protocol/messages.h"
#include "core/base/logging.h"
#include "storage/sqlite_result_store.h"

namespace qg::coord {

namespace asio = boost::asio;
using asio::ip::tcp;
using nlohmann::json;
using protocol::FramedConnection;
using protocol::Resources;

namespace {

struct Session {
  uint64_t id = 0;
  std::shared_ptr<FramedConnection> conn;
  std::string nonce;
  bool authenticated = false;
  std::string role;
  std::string name;
  Resources total;
  Resources free;
  std::map<std::string, Resources> leases;        // lease id → what it holds
  std::map<std::string, std::string> last_lines;  // lease id → latest log line
  int64_t connected_ms = 0;
  int64_t last_seen_ms = 0;
};

}  // namespace

class Coordinator::Impl {
 public:
  Impl(CoordinatorOptions options, std::unique_ptr<storage::SqliteResultStore> store)
      : options_(std::move(options)),
        store_(std::move(store)),
        queue_(*store_, clock_, options_.retry, options_.artifact_root),
        acceptor_(io_),
        tick_(io_),
        log_(Log("coordinator")) {}

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
    log_->info("listening on {}:{} (database {})", acceptor_.local_endpoint().address().to_string(), port_,
               options_.db);
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
    for (auto& [id, s] : std::map<uint64_t, Session>(sessions_)) s.conn->Close("coordinator stopping");
    io_.stop();
  }

  // A store error leaves the coordinator unable to keep its promises: stop
  // rather than hand out work it cannot record.
  template <typename T>
  bool Check(const Result<T>& s, std::string_view what) {
    if (s) return true;
    log_->error("{}: {}", what, s.error().ToString());
    Shutdown(s.error().WithContext(std::string(what)));
    return false;
  }

  void Accept() {
    acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
      if (stopping_) return;
      if (!ec) OnConnect(std::move(socket));
      Accept();
    });
  }

  void OnConnect(tcp::socket socket) {
    const uint64_t id = ++next_session_;
    Session& s = sessions_[id];
    s.id = id;
    s.conn = FramedConnection::Create(std::move(socket));
    s.nonce = protocol::RandomNonce();
    s.connected_ms = s.last_seen_ms = clock_.WallMillis();
    s.conn->Start([this, id](json message) { OnMessage(id, std::move(message)); },
                  [this, id](const std::string& reason) { OnClose(id, reason); });
    s.conn->Send({{"type", "challenge"}, {"protocol", protocol::kProtocolVersion}, {"nonce", s.nonce}});
  }

  void OnClose(uint64_t id, const std::string& reason) {
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return;
    Session& s = it->second;
    if (s.role == "worker" && s.leases.empty()) {
      log_->info("worker '{}' left: {}", s.name, reason);
    } else if (s.role == "worker") {
      // Its leases are not renewed any more: they expire and the jobs run again.
      log_->warn("worker '{}' ({}) disconnected: {}; {} job(s) wait for their leases to expire", s.name,
                 s.conn->peer(), reason, s.leases.size());
    } else if (!s.authenticated && reason != "peer closed the connection" && reason.rfind("refused", 0) != 0) {
      log_->warn("dropped {} before authentication: {}", s.conn->peer(), reason);
    }
    sessions_.erase(it);
  }

  void OnMessage(uint64_t id, json message) {
    Session& s = sessions_.at(id);
    s.last_seen_ms = clock_.WallMillis();
    const std::string type = message["type"].get<std::string>();
    if (!s.authenticated) return OnHello(s, message);
    if (s.role == "worker") return OnWorkerMessage(s, type, message);
    OnClientRequest(s, type, message);
  }

  void OnHello(Session& s, const json& hello) {
    auto refuse = [&](const std::string& why) {
      log_->warn("refused {}: {}", s.conn->peer(), why);
      s.conn->SendAndClose(protocol::ErrorMessage(why), "refused: " + why);
    };
    if (hello["type"] != "hello") return refuse("expected a hello, got '" + hello["type"].get<std::string>() + "'");
    if (!hello.contains("protocol") || hello["protocol"] != protocol::kProtocolVersion) {
      return refuse(fmt::format("protocol version {} is not {}", hello.value("protocol", json()).dump(),
                                protocol::kProtocolVersion));
    }
    const auto field = [&](const char* name) {
      return hello.contains(name) && hello[name].is_string() ? hello[name].get<std::string>() : std::string();
    };
    const std::string role = field("role");
    const std::string name = field("name");
    if (role != "worker" && role != "client") return refuse("role must be 'worker' or 'client'");
    if (name.empty() || name.size() > 200) return refuse("a peer needs a name of 1 to 200 characters");
    if (!protocol::VerifyProof(options_.token, s.nonce, role, name, field("proof"))) {
      return refuse("authentication failed (wrong or missing token)");
    }
    s.role = role;
    s.name = name;
    if (role == "worker") {
      auto resources = Resources::FromJson(hello.value("resources", json::object()));
      if (!resources) return refuse(resources.error().message);
      for (const auto& [other_id, other] : sessions_) {
        if (other_id != s.id && other.role == "worker" && other.name == name) {
          return refuse("a worker named '" + name + "' is already connected");
        }
      }
      s.total = s.free = *resources;
      log_->info("worker '{}' joined from {} with {} cpus, {} gpus, {} MB", name, s.conn->peer(), s.total.cpus,
                 s.total.gpus, s.total.memory_mb);
    }
    s.authenticated = true;
    s.conn->Send({{"type", "welcome"}, {"heartbeat_ms", options_.heartbeat_ms}, {"lease_ms", options_.lease_ms}});
    if (role == "worker") Dispatch();
  }

  void OnWorkerMessage(Session& s, const std::string& type, const json& m) {
    if (type == "heartbeat") {
      if (m.contains("running") && m["running"].is_array()) {
        for (const auto& lease : m["running"]) {
          if (lease.is_string() && s.leases.count(lease.get<std::string>())) {
            queue_.Renew(lease.get<std::string>(), options_.lease_ms);
          }
        }
      }
      return;
    }
    if (type == "log") {
      const std::string lease = m.value("lease_id", "");
      if (s.leases.count(lease) && m.contains("line") && m["line"].is_string()) {
        s.last_lines[lease] = m["line"].get<std::string>();
        if (const auto* job = queue_.JobOfLease(lease)) log_->debug("[{} on {}] {}", job->key, s.name, s.last_lines[lease]);
      }
      return;
    }
    if (type == "result") return OnResult(s, m);
    s.conn->Close("unknown message type '" + type + "' from worker '" + s.name + "'");
  }

  void OnResult(Session& s, const json& m) {
    const std::string lease = m.contains("lease_id") && m["lease_id"].is_string() ? m["lease_id"].get<std::string>() : "";
    auto held = s.leases.find(lease);
    if (held == s.leases.end()) {
      log_->warn("worker '{}' sent a result for lease '{}' it does not hold; dropped", s.name, lease);
      return;
    }
    s.free += held->second;
    s.leases.erase(held);
    s.last_lines.erase(lease);
    const auto* job = queue_.JobOfLease(lease);
    const std::string key = job ? job->key : "?";
    if (m.contains("run")) {
      auto run = storage::RunRecord::FromJson(m["run"]);
      if (run) {
        auto done = queue_.Complete(lease, *run);
        if (!Check(done, "storing the result of " + key)) return;
        if (*done) log_->info("{} completed on {}", key, s.name);
      } else {
        auto failed = queue_.Fail(lease, run.error().WithContext("malformed result"));
        if (!Check(failed, "recording a failure")) return;
      }
    } else {
      const Error error = protocol::ErrorFromJson(m.value("error", json()));
      log_->warn("{} failed on {}: {}", key, s.name, error.ToString());
      auto failed = queue_.Fail(lease, error);
      if (!Check(failed, "recording a failure")) return;
    }
    Dispatch();
  }

  void OnClientRequest(Session& s, const std::string& type, const json& m) {
    json reply;
    if (type == "submit") {
      reply = Submit(m);
    } else if (type == "status") {
      reply = StatusReply();
    } else if (type == "cancel") {
      reply = CancelReply(m.value("experiment", ""));
    } else {
      return s.conn->SendAndClose(protocol::ErrorMessage("unknown request '" + type + "'"), "unknown request");
    }
    s.conn->Send(reply);
    Dispatch();
  }

  static json ErrorReply(const Error& e) {
    json reply = protocol::ErrorMessage(e.message);
    reply["error"] = protocol::ErrorToJson(e);
    return reply;
  }

  json Submit(const json& m) {
    if (!m.contains("name") || !m["name"].is_string() || !m.contains("jobs") || !m["jobs"].is_array()) {
      return ErrorReply(Error::InvalidArgument("a submit needs a name and a list of jobs"));
    }
    std::vector<storage::JobRecord> jobs;
    for (const auto& j : m["jobs"]) {
      auto job = protocol::JobFromJson(j);
      if (!job) return ErrorReply(job.error());
      jobs.push_back(std::move(*job));
    }
    const std::string name = m["name"].get<std::string>();
    auto summary = queue_.Submit(name, m.value("spec", json::object()), jobs, m.value("force", false));
    if (!summary) return ErrorReply(summary.error());
    log_->info("experiment '{}' submitted: {} jobs, {} already done", name, summary->jobs, summary->cached);
    return {{"type", "submitted"}, {"experiment_id", summary->experiment_id}, {"jobs", summary->jobs},
            {"cached", summary->cached}};
  }

  json StatusReply() const {
    json workers = json::array();
    std::vector<Resources> totals;
    for (const auto& [id, s] : sessions_) {
      if (s.role != "worker") continue;
      totals.push_back(s.total);
      json running = json::array();
      for (const auto& [lease, need] : s.leases) {
        const auto* job = queue_.JobOfLease(lease);
        auto line = s.last_lines.find(lease);
        running.push_back({{"key", job ? job->key : "?"}, {"line", line == s.last_lines.end() ? "" : line->second}});
      }
      workers.push_back({{"name", s.name}, {"peer", s.conn->peer()}, {"resources", s.total.ToJson()},
                         {"free", s.free.ToJson()}, {"running", running}});
    }
    return {{"type", "status"}, {"experiments", queue_.Summary(totals)}, {"workers", workers}};
  }

  json CancelReply(const std::string& experiment) {
    auto revoked = queue_.Cancel(experiment);
    if (!revoked) return ErrorReply(revoked.error());
    for (const auto& lease : *revoked) {
      for (auto& [id, s] : sessions_) {
        auto held = s.leases.find(lease);
        if (held == s.leases.end()) continue;
        s.free += held->second;
        s.leases.erase(held);
        s.conn->Send({{"type", "cancel"}, {"lease_id", lease}});
      }
    }
    log_->info("experiment '{}' cancelled ({} running job(s) revoked)", experiment, revoked->size());
    return {{"type", "cancelled"}, {"experiment", experiment}, {"revoked", revoked->size()}};
  }

  // Hands out runnable jobs, one per worker per round, so work spreads.
  void Dispatch() {
    bool progress = true;
    while (progress && !stopping_) {
      progress = false;
      for (auto& [id, s] : sessions_) {
        if (s.role != "worker" || !s.conn->open()) continue;
        auto lease = queue_.LeaseNext(s.free, s.name, options_.lease_ms);
        if (!lease) {
          Check(lease, "leasing a job");
          return;
        }
        if (!*lease) continue;
        progress = true;
        s.free -= (*lease)->need;
        s.leases[(*lease)->lease_id] = (*lease)->need;
        s.conn->Send({{"type", "lease"}, {"lease_id", (*lease)->lease_id}, {"job_id", (*lease)->job_id},
                      {"request", (*lease)->request.ToJson()}, {"expires_ms", (*lease)->expires_ms}});
      }
    }
  }

  void ScheduleTick() {
    tick_.expires_after(std::chrono::milliseconds(std::clamp<int64_t>(options_.heartbeat_ms / 2, 10, 250)));
    tick_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopping_) return;
      Tick();
      ScheduleTick();
    });
  }

  void Tick() {
    const int64_t now = clock_.WallMillis();
    std::vector<std::shared_ptr<FramedConnection>> to_close;
    for (auto& [id, s] : sessions_) {
      if (!s.authenticated && now - s.connected_ms > options_.handshake_timeout_ms) {
        to_close.push_back(s.conn);
      } else if (s.role == "worker" && now - s.last_seen_ms > options_.heartbeat_ms * options_.missed_heartbeats) {
        log_->warn("worker '{}' missed {} heartbeats: declared dead", s.name, options_.missed_heartbeats);
        to_close.push_back(s.conn);
      }
    }
    for (auto& conn : to_close) conn->Close("no hello or heartbeat in time");
    auto expired = queue_.ExpireLeases();
    if (!expired) {
      Check(expired, "expiring leases");
      return;
    }
    for (const auto& lease : *expired) {
      log_->warn("lease {} expired: its job is pending again", lease);
      for (auto& [id, s] : sessions_) {
        if (s.leases.erase(lease)) s.conn->Send({{"type", "cancel"}, {"lease_id", lease}});
      }
    }
    Dispatch();  // backoffs end, new capacity
  }

  CoordinatorOptions options_;
  std::unique_ptr<storage::SqliteResultStore> store_;
  SystemClock clock_;
  JobQueue queue_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  asio::steady_timer tick_;
  std::shared_ptr<spdlog::logger> log_;
  std::map<uint64_t, Session> sessions_;
  uint64_t next_session_ = 0;
  std::atomic<uint16_t> port_{0};
  bool stopping_ = false;
  Status fatal_ = OkStatus();
};

Result<std::unique_ptr<Coordinator>> Coordinator::Start(const CoordinatorOptions& options) {
  if (options.token.empty()) return Error::InvalidArgument("the coordinator needs a cluster token");
  QG_ASSIGN_OR_RETURN(auto store, storage::SqliteResultStore::Open(options.db));
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
