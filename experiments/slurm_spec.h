// The optional "slurm" section of a spec: what `quantgrid submit --backend
// slurm` puts in each sbatch script besides the job's own resources.
//
//   "slurm": {"partition": "gpu", "account": "lab", "qos": "normal",
//             "time_limits": {"train": "2:00:00", "quantize": 20, "default": "0:30:00"},
//             "extra_args": ["--constraint=avx512"]}
//
// Time limits take Slurm's formats (minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM,
// D-HH:MM:SS) or a number of minutes, per job kind, with "default" for the
// kinds not named. Errors name the JSON path.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/base/result.h"

namespace qg::exp {

struct SlurmSection {
  std::string partition;  // empty: the cluster's default partition
  std::string account;
  std::string qos;
  std::map<std::string, int64_t> time_limit_min;  // by job kind, and "default"
  std::vector<std::string> extra_args;            // passed to sbatch as written

  // The limit for a job kind, in minutes; nothing when neither the kind nor
  // "default" has one (the partition's limit applies).
  std::optional<int64_t> TimeLimitFor(const std::string& kind) const;
};

// Reads spec["slurm"] (absent: all defaults).
Result<SlurmSection> ParseSlurmSection(const nlohmann::json& spec);

// Slurm's time formats to minutes, rounded up; InvalidArgument otherwise.
Result<int64_t> ParseSlurmTime(const nlohmann::json& value);

}  // namespace qg::exp
