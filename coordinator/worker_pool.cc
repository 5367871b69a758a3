#include "coordinator/worker_pool.h"

#include <filesystem>

#include "core/base/log_text.h"

namespace qg::coord {

namespace fs = std::filesystem;
using nlohmann::json;
using protocol::Resources;

WorkerPool::WorkerPool(JobQueue& queue, int64_t lease_ms, std::string artifact_root,
                       std::shared_ptr<spdlog::logger> log)
    : queue_(queue), lease_ms_(lease_ms), artifact_root_(std::move(artifact_root)), log_(std::move(log)) {}

Status WorkerPool::Join(uint64_t id, const std::string& name, const Resources& resources,
                        std::shared_ptr<protocol::FramedConnection> conn) {
  for (const auto& [other_id, other] : workers_) {
    if (other_id != id && other.name == name) {
      return Error::FailedPrecondition("a worker named '{}' is already connected", EscapeForLog(name));
    }
  }
  log_->info("worker '{}' joined from {} with {} cpus, {} gpus, {} MB, CPU {}", EscapeForLog(name), conn->peer(),
             resources.cpus, resources.gpus, resources.memory_mb,
             resources.cpu.empty() ? "not named" : EscapeForLog(resources.cpu));
  workers_[id] = Worker{.name = name, .conn = std::move(conn), .total = resources, .free = resources};
  return OkStatus();
}

void WorkerPool::Leave(uint64_t id, const std::string& reason) {
  auto it = workers_.find(id);
  if (it == workers_.end()) return;
  const Worker& w = it->second;
  if (w.leases.empty()) {
    log_->info("worker '{}' left: {}", EscapeForLog(w.name), reason);
  } else {
    // Its leases are not renewed any more: they expire and the jobs run again.
    log_->warn("worker '{}' ({}) disconnected: {}; {} job(s) wait for their leases to expire", EscapeForLog(w.name),
               w.conn->peer(), reason, w.leases.size());
  }
  workers_.erase(it);
}

void WorkerPool::OnHeartbeat(uint64_t id, const protocol::Heartbeat& beat) {
  Worker& w = workers_.at(id);
  w.silent = false;
  json renewed = json::array();
  for (const auto& lease : beat.running) {
    if (w.leases.count(lease) && queue_.Renew(lease, lease_ms_)) renewed.push_back(lease);
  }
  // The worker stops a job whose renewal it does not hear of in time.
  if (!renewed.empty()) w.conn->Send({{"type", "renewed"}, {"leases", renewed}});
}

void WorkerPool::OnLog(uint64_t id, const protocol::LogLine& line) {
  Worker& w = workers_.at(id);
  if (!w.leases.count(line.lease_id)) return;
  w.last_lines[line.lease_id] = line.line;
  if (const auto* job = queue_.JobOfLease(line.lease_id)) {
    log_->debug("[{} on {}] {}", job->key, EscapeForLog(w.name), EscapeForLog(line.line));
  }
}

Status WorkerPool::CheckArtifacts(const storage::RunRecord& run) const {
  if (run.artifacts.empty()) return OkStatus();
  std::error_code ec;
  const fs::path root = fs::weakly_canonical(fs::absolute(artifact_root_), ec);
  for (const auto& a : run.artifacts) {
    const fs::path path = fs::weakly_canonical(fs::path(a.path), ec);
    const auto [end, _] = std::mismatch(root.begin(), root.end(), path.begin(), path.end());
    if (!fs::path(a.path).is_absolute() || end != root.end()) {
      return Error::InvalidArgument("artifact '{}' of job '{}' is not under the artifact root {}",
                                    EscapeForLog(a.path), EscapeForLog(run.job_key), root.string());
    }
  }
  return OkStatus();
}

Status WorkerPool::OnResult(uint64_t id, const protocol::ResultMessage& m) {
  Worker& w = workers_.at(id);
  auto held = w.leases.find(m.lease_id);
  if (held == w.leases.end()) {
    log_->warn("worker '{}' sent a result for lease '{}' it does not hold; dropped", EscapeForLog(w.name),
               EscapeForLog(m.lease_id));
    return OkStatus();
  }
  w.free += held->second;
  w.leases.erase(held);
  w.last_lines.erase(m.lease_id);
  const auto* job = queue_.JobOfLease(m.lease_id);
  const std::string key = job ? job->key : "?";
  if (m.run) {
    Status valid = OkStatus();
    if (job && m.run->config_hash != job->config_hash) {
      valid = Error::InvalidArgument("result for job '{}' has another job's config hash", key);
    } else {
      valid = CheckArtifacts(*m.run);
    }
    if (!valid) {  // this attempt failed (the job runs again elsewhere); the caller drops the worker
      QG_RETURN_IF_ERROR(queue_.Fail(
          m.lease_id, Error::Unavailable("worker '{}' sent a bad result: {}", EscapeForLog(w.name),
                                         valid.error().message)));
      return valid;
    }
    QG_ASSIGN_OR_RETURN(bool done, queue_.Complete(m.lease_id, *m.run));
    if (done) log_->info("{} completed on {}", key, EscapeForLog(w.name));
  } else {
    log_->warn("{} failed on {}: {}", key, EscapeForLog(w.name), EscapeForLog(m.error->ToString(), 2000));
    QG_RETURN_IF_ERROR(queue_.Fail(m.lease_id, *m.error));
  }
  return OkStatus();
}

Status WorkerPool::Dispatch() {
  // Who can take work: a job that asks for its dependency's CPU waits for one of them that has it.
  std::vector<Resources> able;
  for (const auto& [id, w] : workers_) {
    if (w.conn->open() && !w.silent) able.push_back(w.total);
  }
  bool progress = true;
  while (progress) {
    progress = false;
    for (auto& [id, w] : workers_) {
      if (!w.conn->open() || w.silent) continue;
      QG_ASSIGN_OR_RETURN(auto lease, queue_.LeaseNext(w.free, w.name, lease_ms_, able));
      if (!lease) continue;
      progress = true;
      w.free -= lease->need;
      w.leases[lease->lease_id] = lease->need;
      w.conn->Send({{"type", "lease"}, {"lease_id", lease->lease_id}, {"job_id", lease->job_id},
                    {"request", lease->request.ToJson()}, {"expires_ms", lease->expires_ms},
                    {"lease_ms", lease_ms_}});
    }
  }
  return OkStatus();
}

void WorkerPool::Revoke(const std::string& lease_id, bool expired) {
  for (auto& [id, w] : workers_) {
    auto held = w.leases.find(lease_id);
    if (held == w.leases.end()) continue;
    if (expired) w.silent = true;
    w.free += held->second;
    w.leases.erase(held);
    w.last_lines.erase(lease_id);
    w.conn->Send({{"type", "cancel"}, {"lease_id", lease_id}});
  }
}

json WorkerPool::StatusJson() const {
  json workers = json::array();
  for (const auto& [id, w] : workers_) {
    json running = json::array();
    for (const auto& [lease, need] : w.leases) {
      const auto* job = queue_.JobOfLease(lease);
      auto line = w.last_lines.find(lease);
      running.push_back({{"key", job ? job->key : "?"}, {"line", line == w.last_lines.end() ? "" : line->second}});
    }
    workers.push_back({{"name", w.name}, {"peer", w.conn->peer()}, {"resources", w.total.ToJson()},
                       {"free", w.free.ToJson()}, {"running", running}});
  }
  return workers;
}

std::vector<Resources> WorkerPool::Totals() const {
  std::vector<Resources> totals;
  for (const auto& [id, w] : workers_) totals.push_back(w.total);
  return totals;
}

}  // namespace qg::coord
