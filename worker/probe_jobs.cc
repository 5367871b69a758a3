#include "worker/probe_jobs.h"

#include "experiments/job_config.h"

namespace qg::worker {

Result<storage::RunRecord> RunProbeJob(const exp::JobRequest& req, const ProbeWait& wait) {
  QG_ASSIGN_OR_RETURN(exp::JobKind kind, exp::ParseJobKind(req.kind));
  QG_ASSIGN_OR_RETURN(auto config, exp::ProbeConfig::FromJson(req.config));
  if (kind == exp::JobKind::kSleep) {
    if (!wait(std::chrono::duration<double>(config.seconds.value_or(exp::kDefaultSleepSeconds)))) {
      return Error::Unavailable("job '{}' was cancelled", req.key);
    }
  } else if (kind == exp::JobKind::kFail) {
    return Error::Internal("job '{}' failed on purpose (a 'fail' probe)", req.key);
  }
  storage::RunRecord run;
  run.config_hash = req.config_hash;
  run.kind = req.kind;
  run.job_key = req.key;
  run.metrics[exp::metric::kProbeValue] = static_cast<double>(config.value);
  return run;
}

}  // namespace qg::worker
