#include "experiments/job_graph.h"

#include <functional>
#include <map>

namespace qg::exp {

namespace {

// Jobs of one experiment, by key.
std::map<std::pair<int64_t, std::string>, size_t> IndexByKey(const std::vector<storage::JobRecord>& jobs) {
  std::map<std::pair<int64_t, std::string>, size_t> index;
  for (size_t i = 0; i < jobs.size(); ++i) index[{jobs[i].experiment_id, jobs[i].key}] = i;
  return index;
}

}  // namespace

Status CheckDependencies(const std::vector<storage::JobRecord>& jobs) {
  const auto index = IndexByKey(jobs);
  for (const auto& j : jobs) {
    for (const auto& d : j.deps) {
      if (!index.count({j.experiment_id, d})) {
        return Error::InvalidArgument("job '{}' depends on '{}', which is not a job", j.key, d);
      }
    }
  }
  // Depth-first search for a cycle (0 new, 1 on the stack, 2 done).
  std::vector<int> mark(jobs.size(), 0);
  std::function<Status(size_t)> visit = [&](size_t i) -> Status {
    if (mark[i] == 2) return OkStatus();
    if (mark[i] == 1) return Error::InvalidArgument("job '{}' is part of a dependency cycle", jobs[i].key);
    mark[i] = 1;
    for (const auto& d : jobs[i].deps) QG_RETURN_IF_ERROR(visit(index.at({jobs[i].experiment_id, d})));
    mark[i] = 2;
    return OkStatus();
  };
  for (size_t i = 0; i < jobs.size(); ++i) QG_RETURN_IF_ERROR(visit(i));
  return OkStatus();
}

}  // namespace qg::exp
