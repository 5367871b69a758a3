#include "experiments/probe_spec.h"

#include <fmt/format.h>

#include "core/base/config_hash.h"

namespace qg::exp {

using nlohmann::json;

bool IsProbeSpec(const json& spec) { return spec.is_object() && spec.contains("probe"); }

Result<std::vector<storage::JobRecord>> ExpandProbeSpec(const json& spec) {
  if (!spec.contains("name") || !spec["name"].is_string() || spec["name"].get<std::string>().empty()) {
    return Error::InvalidArgument("name: a probe experiment needs a name");
  }
  const json& p = spec["probe"];
  if (!p.is_object()) return Error::InvalidArgument("probe: must be an object");
  const std::string kind = p.value("kind", "noop");
  if (kind != "noop" && kind != "sleep" && kind != "fail") {
    return Error::InvalidArgument("probe.kind: unknown \"{}\"; known: noop, sleep, fail", kind);
  }
  for (const char* field : {"count", "seconds", "cpus", "gpus", "max_attempts"}) {
    if (p.contains(field) && (!p[field].is_number() || p[field].get<double>() < 0)) {
      return Error::InvalidArgument("probe.{}: must be a number >= 0, got {}", field, p[field].dump());
    }
  }
  const int count = p.value("count", 1);
  if (count < 1 || count > 1'000'000) return Error::InvalidArgument("probe.count: must be 1 to 1000000");
  std::vector<storage::JobRecord> jobs;
  jobs.reserve(count);
  for (int i = 0; i < count; ++i) {
    storage::JobRecord job;
    job.key = fmt::format("{}/{}", kind, i);
    job.kind = kind;
    job.config = {{"experiment", spec["name"]}, {"index", i}, {"value", i}};
    if (kind == "sleep") job.config["seconds"] = p.value("seconds", 0.5);
    job.config_hash = ConfigHash(job.config);
    job.resources = {{"cpus", p.value("cpus", 1.0)}, {"gpus", p.value("gpus", 0)}, {"memory_mb", 0}};
    job.max_attempts = p.value("max_attempts", 3);
    jobs.push_back(std::move(job));
  }
  return jobs;
}

}  // namespace qg::exp
