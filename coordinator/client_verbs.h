// ClientVerbs: what a client (a user's `submit`, `status`, `cancel`) may ask a
// coordinator, one typed request in, one reply out. Errors of a request
// (an unknown experiment, a bad DAG) are error replies, never a reason for
// the coordinator to stop.
//
// Not thread-safe: the coordinator calls it from its io thread.
#pragma once

#include <spdlog/logger.h>

#include <memory>

#include "coordinator/job_queue.h"
#include "coordinator/protocol/messages.h"
#include "coordinator/worker_pool.h"

namespace qg::coord {

class ClientVerbs {
 public:
  ClientVerbs(JobQueue& queue, WorkerPool& workers, std::shared_ptr<spdlog::logger> log)
      : queue_(queue), workers_(workers), log_(std::move(log)) {}

  nlohmann::json Handle(const protocol::ClientRequest& request);

  // An error reply carrying the error's code and message.
  static nlohmann::json ErrorReply(const Error& error);

 private:
  nlohmann::json Submit(const protocol::SubmitRequest& r);
  nlohmann::json Status() const;
  nlohmann::json Cancel(const protocol::CancelRequest& r);
  nlohmann::json Results(const protocol::ResultsRequest& r);

  JobQueue& queue_;
  WorkerPool& workers_;
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace qg::coord
