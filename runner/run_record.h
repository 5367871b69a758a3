// How core's plain results become a RunRecord's metrics, documents and
// artifacts, under the names experiments/job_config.h owns.
#pragma once

#include <string>
#include <vector>

#include "core/base/result.h"
#include "core/metrics/classification.h"
#include "core/metrics/latency_stats.h"
#include "core/metrics/output_diff.h"
#include "storage/records.h"

namespace qg::runner {

// A record with where and how this process runs filled in (commit, versions,
// CPU, host, threads) and the job's identity.
storage::RunRecord NewRunRecord(const std::string& config_hash, const std::string& kind, const std::string& key,
                                int threads);

void AddAccuracy(const metrics::ClassificationReport& report, storage::RunRecord& run);
void AddLatency(const std::vector<metrics::LatencyStats>& latency, storage::RunRecord& run);
void AddOutputDiff(const metrics::OutputDiff& diff, storage::RunRecord& run);
// The file at `path` as an artifact of `kind`, with its size and sha256.
Status AddArtifact(const std::string& kind, const std::string& path, storage::RunRecord& run);

}  // namespace qg::runner
