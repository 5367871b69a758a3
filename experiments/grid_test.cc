#include "experiments/grid.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "core/base/config_hash.h"
#include "tests/testing/fake_catalog.h"
#include "tests/testing/temp_dir.h"

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

// An imported model is cached by the file's content: the file rewritten with
// the same bytes hashes the same, one changed byte reruns every job.
TEST(Grid, AnImportedModelFilesSha256IsInEveryConfigHash) {
  qg::testing::FakeCatalog catalog;
  qg::testing::TempDir dir;
  auto hashes = [&](const std::string& bytes) {
    const std::string file = "model.onnx";
    std::ofstream(dir.File(file)) << bytes;
    json spec = json::parse(kBase);
    spec["model"] = {{"onnx", file}};
    auto parsed = ParseSpec(spec, catalog, "onednn", dir.path().string());
    EXPECT_TRUE(parsed) << parsed.error().ToString();
    std::map<std::string, std::string> out;
    const auto jobs = ExpandGrid(*parsed, catalog);
    EXPECT_TRUE(jobs) << jobs.error().ToString();
    for (const auto& j : *jobs) out[j.key] = j.config_hash;
    return out;
  };
  const auto a = hashes("model bytes"), b = hashes("model bytes"), c = hashes("model bytez");
  EXPECT_EQ(a, b);
  ASSERT_EQ(a.size(), c.size());
  for (const auto& [key, hash] : a) EXPECT_NE(hash, c.at(key)) << key;
}

// Weight bit-widths and granularities are axes of the INT8 strategies only.
TEST(Grid, WeightBitsAndGranularitiesAreAxesOfInt8Strategies) {
  qg::testing::FakeCatalog catalog;
  json spec = json::parse(kBase);
  spec["seeds"] = {0};
  spec["grid"] = {{"strategies", {"fp32", "naive_ptq"}},
                  {"weight_bits", {8, 4}},
                  {"weight_granularities", {"per_tensor", "per_channel"}}};
  const auto parsed = ParseSpec(spec, catalog, "onednn");
  ASSERT_TRUE(parsed) << parsed.error().ToString();
  const auto expanded = ExpandGrid(*parsed, catalog);
  ASSERT_TRUE(expanded) << expanded.error().ToString();
  const auto& jobs = *expanded;
  std::set<std::string> keys;
  for (const auto& j : jobs) {
    keys.insert(j.key);
    if (j.key.find("naive_ptq") == std::string::npos) continue;
    const auto& params = j.config["params"];
    EXPECT_NE(j.key.find(fmt::format("/w{}/{}/", params["weight_bits"].get<int>(),
                                     params["weight_granularity"].get<std::string>())),
              std::string::npos)
        << j.key;
  }
  EXPECT_EQ(jobs.size(), 1u + 1u + 4u);  // train, fp32, naive_ptq x 2 bit-widths x 2 granularities
  EXPECT_TRUE(keys.count("quantize/naive_ptq/minmax/c1000/w4/per_tensor/onednn/cpu/seed0"))
      << fmt::format("{}", fmt::join(keys, " "));
  EXPECT_TRUE(keys.count("quantize/fp32/cpu/seed0"));

  spec["grid"]["weight_bits"] = {8, 1};
  auto bad = ParseSpec(spec, catalog, "onednn");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "grid.weight_bits[1]: 1 is outside [2, 8]");
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

TEST(Grid, Int8RunsOnCpuOnlyAndExportFollowsEveryCpuJobOnItsCpu) {
  qg::testing::FakeCatalog catalog;
  const auto jobs = *ExpandGrid(Spec(R"({"name": "g", "dataset": {"name": "synthetic"}, "model": {"name": "compact_cnn"},
    "grid": {"strategies": ["fp32", "fp16", "naive_ptq"], "devices": ["cpu", "cuda"]}, "export": {"onnx": true}})"),
                                catalog);
  std::vector<std::string> keys;
  for (const auto& j : jobs) keys.push_back(j.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"train/seed0", "quantize/fp32/cpu/seed0", "export/fp32/cpu/seed0",
                                             "quantize/fp32/cuda/seed0", "quantize/fp16/cpu/seed0",
                                             "export/fp16/cpu/seed0", "quantize/fp16/cuda/seed0",
                                             "quantize/naive_ptq/minmax/c1000/onednn/cpu/seed0",
                                             "export/naive_ptq/minmax/c1000/onednn/cpu/seed0"}));
  EXPECT_EQ(jobs[3].resources["gpus"], 1);
  EXPECT_EQ(jobs[2].deps, (std::vector<std::string>{"quantize/fp32/cpu/seed0"}));
  // Each export asks for the CPU that ran its quantize job (the coordinator's
  // JobQueue honours it); no other job asks for a CPU.
  for (const auto& j : jobs) {
    EXPECT_EQ(j.resources.value("same_cpu_as", ""), j.kind == "export" ? j.deps.at(0) : "") << j.key;
  }
  EXPECT_EQ(jobs[8].config["strategy"], "naive_ptq");
  EXPECT_EQ(jobs[8].config["engine"], "onednn");
}

}  // namespace
}  // namespace qg::exp
