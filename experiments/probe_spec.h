// Probe experiments: a cluster benchmark rather than a study. A spec with a
// "probe" section expands into `count` independent scheduling probes
// (worker/probe_jobs.h) instead of a training/quantization grid:
//
//   {"name": "sleep-200", "probe": {"kind": "sleep", "count": 200, "seconds": 0.5,
//                                   "cpus": 1, "gpus": 0}}
//
// Used by the coordinator's tests, `bench/`, and anyone checking a cluster
// before trusting it with a sweep. Each probe's config hash includes the
// spec's name and the probe's index, so probes are distinct results.
#pragma once

#include <nlohmann/json.hpp>

#include <vector>

#include "core/base/result.h"
#include "storage/records.h"

namespace qg::exp {

bool IsProbeSpec(const nlohmann::json& spec);

// InvalidArgument naming the JSON path of a bad field.
Result<std::vector<storage::JobRecord>> ExpandProbeSpec(const nlohmann::json& spec);

}  // namespace qg::exp
