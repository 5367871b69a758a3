// FakeSlurm: SlurmCommands as a script, for tests of the backend and its
// tasks without a cluster. Submissions get ids 100, 101, ...; tests set the
// states Slurm reports. SlurmBackendTest: a backend over a fresh store and a
// FakeSlurm, with the probe-job grid its tests submit.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "coordinator/slurm/slurm_backend.h"
#include "coordinator/slurm/slurm_commands.h"
#include "core/base/config_hash.h"
#include "core/base/fake_clock.h"
#include "core/base/files.h"
#include "storage/sqlite_result_store.h"
#include "tests/testing/temp_dir.h"

namespace qg::slurm {

class FakeSlurm final : public SlurmCommands {
 public:
  Result<int64_t> SubmitHeld(const std::string& script) override {
    if (refuse_after >= 0 && static_cast<int>(scripts.size()) >= refuse_after) {
      return Error::Unavailable("sbatch: error: Invalid generic resource (gres) specification");
    }
    scripts.push_back(*ReadFile(script));
    const int64_t id = 100 + static_cast<int64_t>(scripts.size()) - 1;
    held.insert(id);
    return id;
  }
  Status Release(const std::vector<int64_t>& ids) override {
    for (auto id : ids) held.erase(id);
    released.insert(released.end(), ids.begin(), ids.end());
    return OkStatus();
  }
  Result<TaskStates> Live() override { return live; }
  Result<TaskStates> Finished(const std::vector<TaskId>& tasks) override {
    TaskStates out;
    for (const auto& t : tasks) {
      if (finished.count(t)) out[t] = finished.at(t);
    }
    return out;
  }
  Status Cancel(const std::vector<TaskId>& tasks) override {
    cancelled.insert(cancelled.end(), tasks.begin(), tasks.end());
    return OkStatus();
  }

  std::vector<std::string> scripts;
  std::set<int64_t> held;
  std::vector<int64_t> released;
  std::vector<TaskId> cancelled;
  TaskStates live, finished;
  int refuse_after = -1;
};

inline storage::JobRecord Job(const std::string& key, const std::string& kind, std::vector<std::string> deps = {},
              nlohmann::json resources = {{"cpus", 2}}) {
  storage::JobRecord j;
  j.key = key;
  j.kind = kind;
  j.config = {{"key", key}};
  j.config_hash = ConfigHash(j.config);
  j.deps = std::move(deps);
  j.resources = std::move(resources);
  return j;
}

// One training job and three quantize jobs that need it: a 4-job grid.
inline std::vector<storage::JobRecord> Grid() {
  return {Job("train/seed0", "noop"), Job("quantize/fp32", "noop", {"train/seed0"}),
          Job("quantize/naive_ptq", "noop", {"train/seed0"}), Job("quantize/fp16", "noop", {"train/seed0"})};
}

class SlurmBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = std::move(*storage::SqliteResultStore::Open(dir_.File("q.db"), clock_, {}));
    backend_ = std::make_unique<SlurmBackend>(*store_, slurm_, clock_, dir_.path().string());
  }
  Result<Submission> Submit(const std::vector<storage::JobRecord>& jobs, nlohmann::json spec = nlohmann::json::object()) {
    auto section = exp::ParseSlurmSection(spec);
    if (!section) return section.error();
    return backend_->Submit("grid", spec, *section, jobs, {.executable = "/bin/qg"});
  }
  storage::JobRecord Stored(const std::string& key) {
    const auto jobs = store_->ListJobs(std::nullopt);
    for (const auto& j : *jobs) {
      if (j.key == key) return j;
    }
    ADD_FAILURE() << "no job " << key;
    return {};
  }

  qg::testing::TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<storage::SqliteResultStore> store_;
  FakeSlurm slurm_;
  std::unique_ptr<SlurmBackend> backend_;
};

}  // namespace qg::slurm
