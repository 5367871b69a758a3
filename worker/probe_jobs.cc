#include "worker/probe_jobs.h"

#include <chrono>
#include <thread>

namespace qg::worker {

bool IsProbeJob(const std::string& kind) { return kind == "noop" || kind == "sleep" || kind == "fail"; }

Result<storage::RunRecord> RunProbeJob(const exp::JobRequest& req, storage::RunRecord run) {
  if (req.kind == "sleep") {
    std::this_thread::sleep_for(std::chrono::duration<double>(req.config.value("seconds", 0.5)));
  } else if (req.kind == "fail") {
    return Error::Internal("job '{}' failed on purpose (a 'fail' probe)", req.key);
  }
  run.config_hash = req.config_hash;
  run.kind = req.kind;
  run.job_key = req.key;
  run.metrics["value"] = req.config.value("value", 0.0);
  return run;
}

}  // namespace qg::worker
