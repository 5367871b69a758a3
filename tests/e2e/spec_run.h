// What the `quantgrid run` e2e tests share: a spec in a temporary folder, the
// command line that runs it there, and the runs it stored.
#pragma once

#include <string>
#include <vector>

#include "storage/sqlite_result_store.h"
#include "tests/testing/temp_dir.h"

namespace qg::testing {

// `run <dir>/spec.json` with its database and artifacts in `dir`.
inline std::vector<std::string> RunSpecArgs(const TempDir& dir) {
  return {"run", dir.File("spec.json"), "--db", dir.File("q.db"), "--root", dir.File("runs")};
}

inline std::vector<storage::RunRecord> StoredRuns(const TempDir& dir, const std::string& experiment) {
  auto store = *storage::SqliteResultStore::Open(dir.File("q.db"));
  return *store->RunsOfExperiment((*store->GetExperiment(experiment))->id);
}

}  // namespace qg::testing
