// WorkerPool: a coordinator's authenticated workers, what each offers and
// holds (its leases and their latest output line), and the hand-out of
// runnable jobs to them. Everything a worker says after its hello lands here,
// already typed (protocol/messages.h); a message that breaks the protocol
// (a result with another job's hash, an artifact outside the root) is an
// InvalidArgument for the caller to answer by closing that connection.
//
// Not thread-safe: the coordinator calls it from its io thread.
#pragma once

#include <spdlog/logger.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "coordinator/job_queue.h"
#include "coordinator/protocol/connection.h"
#include "coordinator/protocol/messages.h"
#include "core/base/result.h"

namespace qg::coord {

class WorkerPool {
 public:
  WorkerPool(JobQueue& queue, int64_t lease_ms, std::string artifact_root, std::shared_ptr<spdlog::logger> log);

  // FailedPrecondition when a worker of that name is already connected.
  Status Join(uint64_t id, const std::string& name, const protocol::Resources& resources,
              std::shared_ptr<protocol::FramedConnection> conn);
  void Leave(uint64_t id, const std::string& reason);
  bool Has(uint64_t id) const { return workers_.count(id) > 0; }

  void OnHeartbeat(uint64_t id, const protocol::Heartbeat& beat);
  void OnLog(uint64_t id, const protocol::LogLine& line);
  // InvalidArgument: the worker broke the protocol (close it); other errors
  // are the store's.
  Status OnResult(uint64_t id, const protocol::ResultMessage& result);

  // Leases runnable jobs, one per worker per round so work spreads, until
  // nothing more fits. Errors are the store's.
  Status Dispatch();
  // The lease ended without its worker's word (cancelled, or `expired`): its
  // resources are free again and the worker is told to stop the job. A
  // worker that let a lease expire gets no new lease until it is heard from
  // again (its link may be cut without a close).
  void Revoke(const std::string& lease_id, bool expired = false);

  // [{name, peer, resources, free, running: [{key, line}]}]
  nlohmann::json StatusJson() const;
  std::vector<protocol::Resources> Totals() const;

 private:
  struct Worker {
    std::string name;
    std::shared_ptr<protocol::FramedConnection> conn;
    protocol::Resources total, free;
    std::map<std::string, protocol::Resources> leases;  // lease id -> what it holds
    std::map<std::string, std::string> last_lines;      // lease id -> latest output line
    bool silent = false;                                 // let a lease expire; not heard from since
  };
  // InvalidArgument when an artifact the run reports is not a file under the root.
  Status CheckArtifacts(const storage::RunRecord& run) const;

  JobQueue& queue_;
  int64_t lease_ms_;
  std::string artifact_root_;
  std::shared_ptr<spdlog::logger> log_;
  std::map<uint64_t, Worker> workers_;
};

}  // namespace qg::coord
