#include "experiments/grid.h"

#include <gtest/gtest.h>

#include <set>

#include "core/base/config_hash.h"
#include "tests/testing/fake_catalog.h"

namespace qg::exp {
namespace {

using nlohmann::json;

ExperimentSpec Spec(const std::string& text) {
  static qg::testing::FakeCatalog catalog;
  auto s = ParseSpec(json::parse(text), catalog, "onednn");
  EXPECT_TRUE(s) << s.error().ToString();
  return *s;
}

const char* kBase = R"({
  "name": "g", "dataset": {"name": "synthetic"}, "model": {"name": "compact_cnn"},
  "seeds": [0, 1],
  "grid": {"strategies": ["fp32", "fp16", "naive_ptq", {"name": "mpq", "params": {"observer": "entropy"}}],
           "observers": ["minmax", "histogram"], "calibration_sizes": [500, 1000], "engines": ["onednn", "qnnpack"]}
})";

TEST(Grid, CountsFollowTheCartesianProductOfApplicableAxes) {
  qg::testing::FakeCatalog catalog;
  const auto jobs = *ExpandGrid(Spec(kBase), catalog);
  // Per seed: 1 train + fp32 + fp16 + naive_ptq (2 observers x 2 sizes x 2 engines)
  // + mpq (its own observer x 2 sizes x 2 engines).
  const size_t per_seed = 1 + 1 + 1 + 8 + 4;
  ASSERT_EQ(jobs.size(), 2 * per_seed);
  std::set<std::string> keys;
  for (const auto& j : jobs) keys.insert(j.key);
  EXPECT_EQ(keys.size(), jobs.size());
  EXPECT_TRUE(keys.count("train/seed1"));
  EXPECT_TRUE(keys.count("quantize/fp32/cpu/seed0"));
  EXPECT_TRUE(keys.count("quantize/naive_ptq/histogram/c500/qnnpack/cpu/seed1"));
  EXPECT_TRUE(keys.count("quantize/mpq/entropy/c1000/onednn/cpu/seed0"));
  EXPECT_FALSE(keys.count("quantize/mpq/minmax/c1000/onednn/cpu/seed0"));  // an explicit parameter wins
}

TEST(Grid, QuantizeJobsDependOnTheirSeedsTrainingAndCarryItsHash) {
  qg::testing::FakeCatalog catalog;
  const auto jobs = *ExpandGrid(Spec(kBase), catalog);
  std::map<std::string, std::string> train_hash;
  for (const auto& j : jobs) {
    if (j.kind == "train") train_hash[j.key] = j.config_hash;
  }
  for (const auto& j : jobs) {
    if (j.kind != "quantize") continue;
    ASSERT_EQ(j.deps.size(), 1u);
    const std::string seed = j.key.substr(j.key.rfind('/') + 1);
    EXPECT_EQ(j.deps[0], "train/" + seed);
    EXPECT_EQ(j.config["train_hash"], train_hash.at(j.deps[0]));
    EXPECT_EQ(j.config_hash, ConfigHash(j.config));
    EXPECT_EQ(j.resources["cpus"], 2);
  }
}

TEST(Grid, HashesIgnoreKeyOrderAndFollowEveryChange) {
  qg::testing::FakeCatalog catalog;
  const auto a = *ExpandGrid(Spec(kBase), catalog);
  // Same spec, keys written in another order.
  const auto b = *ExpandGrid(Spec(R"({
    "grid": {"engines": ["onednn", "qnnpack"], "calibration_sizes": [500, 1000], "observers": ["minmax", "histogram"],
             "strategies": ["fp32", "fp16", "naive_ptq", {"params": {"observer": "entropy"}, "name": "mpq"}]},
    "seeds": [0, 1], "model": {"name": "compact_cnn"}, "dataset": {"name": "synthetic"}, "name": "g"})"),
                             catalog);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].config_hash, b[i].config_hash) << a[i].key;

  // A changed recipe changes the training hash and, through it, every quantize hash.
  json changed = json::parse(kBase);
  changed["train"] = {{"epochs", 4}};
  const auto c = *ExpandGrid(Spec(changed.dump()), catalog);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NE(a[i].config_hash, c[i].config_hash) << a[i].key;
  // A changed measurement changes the quantize hashes but not training.
  changed = json::parse(kBase);
  changed["measure"] = {{"batch_sizes", {64}}};
  const auto d = *ExpandGrid(Spec(changed.dump()), catalog);
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].kind == "train") {
      EXPECT_EQ(a[i].config_hash, d[i].config_hash);
    } else {
      EXPECT_NE(a[i].config_hash, d[i].config_hash);
    }
  }
}

TEST(Grid, Int8RunsOnCpuOnlyAndExportFollowsCpuFp32AndInt8Jobs) {
  qg::testing::FakeCatalog catalog;
  const auto jobs = *ExpandGrid(Spec(R"({"name": "g", "dataset": {"name": "synthetic"}, "model": {"name": "compact_cnn"},
    "grid": {"strategies": ["fp32", "fp16", "naive_ptq"], "devices": ["cpu", "cuda"]}, "export": {"onnx": true}})"),
                                catalog);
  std::vector<std::string> keys;
  for (const auto& j : jobs) keys.push_back(j.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"train/seed0", "quantize/fp32/cpu/seed0", "export/fp32/cpu/seed0",
                                             "quantize/fp32/cuda/seed0", "quantize/fp16/cpu/seed0",
                                             "quantize/fp16/cuda/seed0",
                                             "quantize/naive_ptq/minmax/c1000/onednn/cpu/seed0",
                                             "export/naive_ptq/minmax/c1000/onednn/cpu/seed0"}));
  EXPECT_EQ(jobs[3].resources["gpus"], 1);
  EXPECT_EQ(jobs[2].deps, (std::vector<std::string>{"quantize/fp32/cpu/seed0"}));
  EXPECT_EQ(jobs[7].config["strategy"], "naive_ptq");
  EXPECT_EQ(jobs[7].config["engine"], "onednn");
}

}  // namespace
}  // namespace qg::exp
