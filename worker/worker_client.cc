#include "worker/worker_client.h"

#include <unistd.h>

#include <boost/asio.hpp>
#include <csignal>
#include <map>
#include <mutex>
#include <thread>

#include "coordinator/protocol/client.h"
#include "core/base/logging.h"
#include "experiments/job_request.h"
#include "worker/job_process.h"
#include "worker/probe_jobs.h"

namespace qg::worker {

namespace asio = boost::asio;
using asio::ip::tcp;
using nlohmann::json;

namespace {

struct RunningJob {
  std::thread thread;
  std::atomic<bool> cancelled{false};
  std::string key;

  void AddPid(int pid) {
    std::lock_guard<std::mutex> lock(mu);
    pids.push_back(pid);
  }
  // Kills the job's processes (every rank of a data-parallel job).
  void Kill() {
    std::lock_guard<std::mutex> lock(mu);
    for (int pid : pids) ::kill(pid, SIGKILL);
  }

 private:
  std::mutex mu;
  std::vector<int> pids;
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
    int64_t backoff_ms = 100;
    while (!stopping_) {
      io_.restart();
      tcp::socket socket(io_);
      auto welcome = protocol::ConnectAndAuthenticate(
          socket, options_.coordinator, {options_.token, "worker", options_.name},
          {{"resources", options_.resources.ToJson()}});
      if (!welcome) {
        const auto code = welcome.error().code;
        if (code == ErrorCode::kUnauthenticated || code == ErrorCode::kFailedPrecondition || !options_.reconnect) {
          return welcome.error();
        }
        log_->warn("{}; retrying in {} ms", welcome.error().message, backoff_ms);
        SleepUnlessStopped(backoff_ms);
        backoff_ms = std::min(backoff_ms * 2, options_.reconnect_max_ms);
        continue;
      }
      backoff_ms = 100;
      heartbeat_ms_ = welcome->value("heartbeat_ms", int64_t{1000});
      log_->info("worker '{}' connected to {} ({} cpus, {} gpus, {} MB)", options_.name,
                 options_.coordinator.ToString(), options_.resources.cpus, options_.resources.gpus,
                 options_.resources.memory_mb);
      ++generation_;
      conn_ = protocol::FramedConnection::Create(std::move(socket));
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
      json running = json::array();
      for (const auto& [lease, job] : running_) running.push_back(lease);
      conn_->Send({{"type", "heartbeat"}, {"running", running}});
      ScheduleHeartbeat();
    });
  }

  void OnMessage(json m) {
    const std::string type = m["type"].get<std::string>();
    if (type == "lease") return OnLease(m);
    if (type == "cancel") {
      auto it = running_.find(m.value("lease_id", ""));
      if (it == running_.end()) return;
      log_->warn("{}: lease revoked by the coordinator; stopping it", it->second->key);
      it->second->cancelled = true;
      it->second->Kill();
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
    if (request->kind == "noop") {  // nothing to isolate or wait for
      return SendResult(lease, job_id, RunProbeJob(*request, {}));
    }
    log_->info("running {}", request->key);
    auto job = std::make_shared<RunningJob>();
    job->key = request->key;
    running_[lease] = job;
    const uint64_t generation = generation_;
    job->thread = std::thread([this, job, lease, job_id, generation, request = std::move(*request)] {
      Result<storage::RunRecord> result = Error::Internal("not run");
      if (IsProbeJob(request.kind)) {
        result = RunProbeJob(request, {});
      } else {
        ChildOptions child{.executable = options_.executable};
        if (!request.work_dir.empty()) child.log_path = request.work_dir + "/job.log";
        child.on_started = [job](int pid) { job->AddPid(pid); };
        child.on_line = [this, lease, generation](const std::string& line) {
          asio::post(io_, [this, lease, generation, line] {
            if (generation == generation_ && conn_ && running_.count(lease)) {
              conn_->Send({{"type", "log"}, {"lease_id", lease}, {"line", line}});
            }
          });
        };
        result = RunInChildProcess(request, child);
      }
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
    job->thread.join();
    if (job->cancelled) return;
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
    for (auto& [lease, job] : running_) {
      job->cancelled = true;
      job->Kill();
    }
    for (auto& [lease, job] : running_) {
      if (job->thread.joinable()) job->thread.join();
    }
    if (!running_.empty()) log_->warn("abandoned {} running job(s)", running_.size());
    running_.clear();
  }

  WorkerOptions options_;
  asio::io_context io_;
  asio::steady_timer heartbeat_;
  std::shared_ptr<spdlog::logger> log_;
  std::shared_ptr<protocol::FramedConnection> conn_;
  std::map<std::string, std::shared_ptr<RunningJob>> running_;
  int64_t heartbeat_ms_ = 1000;
  uint64_t generation_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> completed_{0};
};

WorkerClient::WorkerClient(WorkerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
WorkerClient::~WorkerClient() = default;
Status WorkerClient::Run() { return impl_->Run(); }
void WorkerClient::Stop() { impl_->Stop(); }
int64_t WorkerClient::jobs_completed() const { return impl_->completed(); }

}  // namespace qg::worker
