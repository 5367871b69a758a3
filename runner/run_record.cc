#include "runner/run_record.h"

#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>

#include "core/base/build_info.h"
#include "core/base/clock.h"
#include "core/base/sha256.h"
#include "core/pipeline/torch_runtime.h"
#include "experiments/job_config.h"

namespace qg::runner {

namespace metric = exp::metric;
namespace document = exp::document;

namespace {

std::string Hostname() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

}  // namespace

storage::RunRecord NewRunRecord(const std::string& config_hash, const std::string& kind, const std::string& key,
                                int threads) {
  storage::RunRecord run;
  run.config_hash = config_hash;
  run.kind = kind;
  run.job_key = key;
  run.commit = kGitCommit;
  run.quantgrid_version = kQuantgridVersion;
  run.torch_version = TORCH_VERSION;
  run.cpu_model = pipeline::CpuDescription();
  run.host = Hostname();
  run.threads = threads;
  run.started_ms = SystemClock::Instance().WallMillis();
  return run;
}

void AddAccuracy(const metrics::ClassificationReport& r, storage::RunRecord& run) {
  run.metrics[metric::kTop1] = r.top1;
  run.metrics[metric::kTop5] = r.top5;
  run.metrics[metric::kEvalImages] = static_cast<double>(r.count);
  run.documents[document::kConfusion] = r.confusion;
  run.documents[document::kPerClassAccuracy] = r.per_class_accuracy;
  if (!r.class_names.empty()) run.documents[document::kClassNames] = r.class_names;
}

void AddLatency(const std::vector<metrics::LatencyStats>& latency, storage::RunRecord& run) {
  for (const auto& l : latency) {
    auto name = [&](const char* stat) { return metric::Latency(l.device, l.batch_size, stat); };
    if (!l.device_name.empty()) run.documents[document::kGpuModel] = l.device_name;
    run.metrics[name(metric::kMeanMs)] = l.mean_ms;
    run.metrics[name(metric::kStdMs)] = l.std_ms;
    run.metrics[name(metric::kP50Ms)] = l.p50_ms;
    run.metrics[name(metric::kP95Ms)] = l.p95_ms;
    run.metrics[name(metric::kMsPerImage)] = l.p50_ms / static_cast<double>(l.batch_size);
    if (l.replicates > 1) {  // measure.replicates: the p50's bootstrap interval
      run.metrics[name(metric::kReplicates)] = l.replicates;
      run.metrics[name(metric::kP50CiLowMs)] = l.p50_ci_low_ms;
      run.metrics[name(metric::kP50CiHighMs)] = l.p50_ci_high_ms;
    }
    if (l.speedup_vs_reference > 0) {  // the FP32 model, timed alternately in this job
      run.metrics[name(metric::kFp32P50Ms)] = l.reference_p50_ms;
      run.metrics[name(metric::kSpeedupVsFp32)] = l.speedup_vs_reference;
    }
  }
}

void AddOutputDiff(const metrics::OutputDiff& d, storage::RunRecord& run) {
  run.metrics[metric::kOutputMaxAbs] = d.max_abs;
  run.metrics[metric::kOutputMeanAbs] = d.mean_abs;
  run.metrics[metric::kOutputRelativeMse] = d.relative_mse;
  run.metrics[metric::kTop1Agreement] = d.top1_agreement;
}

Status AddArtifact(const std::string& kind, const std::string& path, storage::RunRecord& run) {
  const std::string absolute = std::filesystem::absolute(path).string();
  QG_ASSIGN_OR_RETURN(std::string sha, Sha256File(absolute));
  std::error_code ec;
  run.artifacts.push_back({kind, absolute, sha, static_cast<int64_t>(std::filesystem::file_size(absolute, ec))});
  return OkStatus();
}

}  // namespace qg::runner
