#include "worker/worker_client.h"

#include <unistd.h>

#include <boost/asio.hpp>
#include <csignal>
#include <map>
#include <mutex>
#include <thread>

#include "coordinator/protocol/client.h"
#include "core/base/backoff.h"
#include "core/base/logging.h"
#include "experiments/job_request.h"
#include "worker/job_executor.h"

namespace qg::worker {

namespace asio = boost::asio;
using asio::ip::tcp;
using nlohmann::json;

namespace {

// A job this worker runs: its execution (to cancel it) and the thread it runs on.
struct RunningJob {
  std::thread thread;
  std::shared_ptr<JobExecution> execution;
  std::string key;
  // The coordinator re-grants a lease it has not renewed for lease_ms: past
  // this (a margin before that), the job is stopped here rather than run
  // twice. Moved on each time the coordinator confirms a renewal.
  std::chrono::steady_clock::time_point renew_by;
};

std::string DefaultName() {
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  return fmt::format("{}-{}", host, getpid());
}

}  // namespace

class WorkerClient::Impl {
 public:
  explicit Impl(WorkerOptions options) : options_(std::move(options)), heartbeat_(io_), log_(Log("worker")) {
    if (options_.name.empty()) options_.name = DefaultName();
  }

  ~Impl() { AbandonJobs(); }

  Status Run() {
    // Jittered: the workers of a restarted coordinator do not all knock at once.
    Backoff backoff({.base_ms = 100, .max_ms = options_.reconnect_max_ms, .multiplier = 2, .jitter = 0.5});
    while (!stopping_) {
      io_.restart();
      auto transport = protocol::Dial(io_, options_.coordinator, options_.tls);
      Result<json> welcome = transport ? protocol::Authenticate(*transport, options_.coordinator,
                                                                 {options_.token, "worker", options_.name},
                                                                 {{"resources", options_.resources.ToJson()}})
                                       : Result<json>(transport.error());
      if (!welcome) {
        const auto code = welcome.error().code;
        if (code == ErrorCode::kUnauthenticated || code == ErrorCode::kFailedPrecondition || !options_.reconnect) {
          return welcome.error();
        }
        const int64_t delay_ms = backoff.NextMs();
        log_->warn("{}; retrying in {} ms", welcome.error().message, delay_ms);
        SleepUnlessStopped(delay_ms);
        continue;
      }
      backoff.Reset();
      heartbeat_ms_ = welcome->value("heartbeat_ms", int64_t{1000});
      lease_ms_ = welcome->value("lease_ms", int64_t{10000});
      log_->info("worker '{}' connected to {} ({} cpus, {} gpus, {} MB)", options_.name,
                 options_.coordinator.ToString(), options_.resources.cpus, options_.resources.gpus,
                 options_.resources.memory_mb);
      ++generation_;
      conn_ = protocol::FramedConnection::Create(std::move(*transport));
      conn_->Start([this](json m) { OnMessage(std::move(m)); },
                   [this](const std::string& reason) {
                     if (!stopping_) log_->warn("connection to the coordinator ended: {}", reason);
                     io_.stop();
                   });
      ScheduleHeartbeat();
      io_.run();
      heartbeat_.cancel();
      conn_.reset();
      AbandonJobs();
      if (!options_.reconnect) break;
    }
    return OkStatus();
  }

  void Stop() {
    stopping_ = true;
    asio::post(io_, [this] {
      if (conn_) conn_->Close("worker stopping");
      io_.stop();
    });
  }

  int64_t completed() const { return completed_; }
  int running() const { return running_count_; }

 private:
  void SleepUnlessStopped(int64_t ms) {
    for (int64_t slept = 0; slept < ms && !stopping_; slept += 20) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  void ScheduleHeartbeat() {
    heartbeat_.expires_after(std::chrono::milliseconds(heartbeat_ms_));
    heartbeat_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || !conn_ || !conn_->open()) return;
      if (!LeasesRenewed()) return;
      json running = json::array();
      for (const auto& [lease, job] : running_) running.push_back(lease);
      conn_->Send({{"type", "heartbeat"}, {"running", running}});
      ScheduleHeartbeat();
    });
  }

  // When the link to the coordinator is cut without a close (a partition, a
  // proxy that stops forwarding), its renewals stop coming: every job whose
  // lease would expire there soon is stopped here first, and the connection
  // dropped, so a re-granted job never runs twice. False when it did that.
  bool LeasesRenewed() {
    const auto now = std::chrono::steady_clock::now();
    bool lost = false;
    for (auto& [lease, job] : running_) {
      if (job->renew_by > now) continue;
      log_->warn("{}: its lease was not renewed in time (no word from the coordinator); stopping it", job->key);
      job->execution->Cancel();
      lost = true;
    }
    if (lost) conn_->Close("the coordinator stopped confirming lease renewals");
    return !lost;
  }

  std::chrono::steady_clock::time_point RenewBy() const {
    // The margin covers the renewal's trip back and the heartbeat period.
    const int64_t margin = std::max(lease_ms_ / 4, 2 * heartbeat_ms_);
    return std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max<int64_t>(lease_ms_ - margin, 1));
  }

  void OnMessage(json m) {
    const std::string type = m["type"].get<std::string>();
    if (type == "lease") return OnLease(m);
    if (type == "renewed") {
      if (!m.contains("leases") || !m["leases"].is_array()) return;
      for (const auto& lease : m["leases"]) {
        auto it = lease.is_string() ? running_.find(lease.get<std::string>()) : running_.end();
        if (it != running_.end()) it->second->renew_by = RenewBy();
      }
      return;
    }
    if (type == "cancel") {
      auto it = running_.find(m.value("lease_id", ""));
      if (it == running_.end()) return;
      log_->warn("{}: lease revoked by the coordinator; stopping it", it->second->key);
      it->second->execution->Cancel();
      return;
    }
    conn_->Close("unknown message type '" + type + "' from the coordinator");
  }

  void SendResult(const std::string& lease, int64_t job_id, const Result<storage::RunRecord>& result) {
    json message{{"type", "result"}, {"lease_id", lease}, {"job_id", job_id}};
    if (result) {
      message["run"] = result->ToJson();
      ++completed_;
    } else {
      message["error"] = protocol::ErrorToJson(result.error());
    }
    conn_->Send(message);
  }

  void OnLease(const json& m) {
    const std::string lease = m.value("lease_id", "");
    const int64_t job_id = m.value("job_id", int64_t{0});
    auto request = exp::JobRequest::FromJson(m.value("request", json::object()));
    if (!request) return SendResult(lease, job_id, request.error());
    ExecuteOptions execute{.executable = options_.executable};
    if (RunsInline(*request)) {  // nothing to isolate or wait for
      return SendResult(lease, job_id, JobExecution(std::move(*request), execute).Run());
    }
    log_->info("running {}", request->key);
    const uint64_t generation = generation_;
    execute.on_line = [this, lease, generation](const std::string& line) {
      asio::post(io_, [this, lease, generation, line] {
        if (generation == generation_ && conn_ && running_.count(lease)) {
          conn_->Send({{"type", "log"}, {"lease_id", lease}, {"line", line}});
        }
      });
    };
    auto job = std::make_shared<RunningJob>();
    job->key = request->key;
    job->renew_by = RenewBy();
    job->execution = std::make_shared<JobExecution>(std::move(*request), std::move(execute));
    running_[lease] = job;
    running_count_ = static_cast<int>(running_.size());
    job->thread = std::thread([this, job, lease, job_id, generation] {
      auto result = job->execution->Run();
      asio::post(io_, [this, lease, job_id, generation, result = std::move(result)] {
        OnJobDone(lease, job_id, generation, result);
      });
    });
  }

  void OnJobDone(const std::string& lease, int64_t job_id, uint64_t generation,
                 const Result<storage::RunRecord>& result) {
    if (generation != generation_) return;  // from a connection that is gone
    auto it = running_.find(lease);
    if (it == running_.end()) return;
    auto job = it->second;
    running_.erase(it);
    running_count_ = static_cast<int>(running_.size());
    job->thread.join();
    if (job->execution->cancelled()) return;
    if (result) {
      log_->info("{} done", job->key);
    } else {
      log_->warn("{} failed: {}", job->key, result.error().ToString());
    }
    if (conn_ && conn_->open()) SendResult(lease, job_id, result);
  }

  // The coordinator is gone (or we stop): our leases will expire and the jobs
  // run elsewhere, so stop ours now rather than race a second copy.
  void AbandonJobs() {
    for (auto& [lease, job] : running_) job->execution->Cancel();
    for (auto& [lease, job] : running_) {
      if (job->thread.joinable()) job->thread.join();
    }
    if (!running_.empty()) log_->warn("abandoned {} running job(s)", running_.size());
    running_.clear();
    running_count_ = 0;
  }

  WorkerOptions options_;
  asio::io_context io_;
  asio::steady_timer heartbeat_;
  std::shared_ptr<spdlog::logger> log_;
  std::shared_ptr<protocol::FramedConnection> conn_;
  std::map<std::string, std::shared_ptr<RunningJob>> running_;
  int64_t heartbeat_ms_ = 1000;
  int64_t lease_ms_ = 10000;
  uint64_t generation_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> completed_{0};
  std::atomic<int> running_count_{0};
};

WorkerClient::WorkerClient(WorkerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
WorkerClient::~WorkerClient() = default;
Status WorkerClient::Run() { return impl_->Run(); }
void WorkerClient::Stop() { impl_->Stop(); }
int64_t WorkerClient::jobs_completed() const { return impl_->completed(); }
int WorkerClient::jobs_running() const { return impl_->running(); }

}  // namespace qg::worker
