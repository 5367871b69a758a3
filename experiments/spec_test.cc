#include "experiments/spec.h"

#include <gtest/gtest.h>

#include "experiments/spec_variants.h"

#include <fstream>

#include "tests/testing/fake_catalog.h"

namespace qg::exp {
namespace {

using nlohmann::json;

json Valid() {
  return json::parse(R"({
    "name": "paper-004",
    "dataset": {"name": "fashion-mnist"},
    "model": {"name": "compact_cnn"},
    "train": {"epochs": 3},
    "seeds": [0, 1],
    "grid": {"strategies": ["fp32", "naive_ptq", {"name": "mpq", "params": {"calibration_size": 500}}],
             "observers": ["minmax", "histogram"], "engines": ["onednn"]},
    "measure": {"batch_sizes": [1, 64]}
  })");
}

TEST(Spec, ParsesAValidSpec) {
  qg::testing::FakeCatalog catalog;
  const auto s = ParseSpec(Valid(), catalog, "onednn");
  ASSERT_TRUE(s) << s.error().ToString();
  EXPECT_EQ(s->name, "paper-004");
  EXPECT_EQ(s->seeds, (std::vector<int64_t>{0, 1}));
  ASSERT_EQ(s->strategies.size(), 3u);
  EXPECT_EQ(s->strategies[2].label, "mpq");
  EXPECT_EQ(s->recipe["epochs"], 3);
  EXPECT_FALSE(s->recipe.contains("seed"));
  EXPECT_EQ(s->devices, (std::vector<std::string>{"cpu"}));
}

struct Malformed {
  std::string patch;     // JSON merge patch applied to Valid()
  std::string expected;  // the whole error message
};

class MalformedSpec : public ::testing::TestWithParam<Malformed> {};

TEST_P(MalformedSpec, FailsWithTheJsonPathOfTheCulprit) {
  qg::testing::FakeCatalog catalog;
  json spec = Valid();
  spec.merge_patch(json::parse(GetParam().patch));
  const auto s = ParseSpec(spec, catalog, "onednn");
  ASSERT_FALSE(s) << GetParam().patch;
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.error().message, GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, MalformedSpec,
    ::testing::Values(
        Malformed{R"({"grid": {"strategies": ["fp32", "naive_ptq", {"name": "mpq", "params": {"observer": "minmx"}}]}})",
                  "grid.strategies[2].observer: unknown \"minmx\"; known: minmax, histogram, entropy"},
        Malformed{R"({"name": null})", "name: required"},
        Malformed{R"({"name": "my run"})", "name: \"my run\" must be non-empty, without spaces or '/'"},
        Malformed{R"({"model": {"name": "vgg16"}})", "model.name: unknown \"vgg16\"; known: compact_cnn, resnet18_cifar"},
        Malformed{R"({"dataset": {"name": "imagenet"}})",
                  "dataset.name: unknown \"imagenet\"; known: fashion-mnist, synthetic"},
        Malformed{R"({"dataset": {"path": "/x"}})",
                  "dataset: unknown field \"path\"; known: name, dir, image_size, synthetic"},
        Malformed{R"({"dataset": {"synthetic": {"size": 32}}})",
                  "dataset.synthetic: only the \"synthetic\" dataset takes a shape (this one is \"fashion-mnist\")"},
        Malformed{R"({"dataset": {"name": "synthetic", "synthetic": {"channels": 0}}})",
                  "dataset.synthetic.channels: 0 is outside [1, 64]"},
        Malformed{R"({"dataset": {"stand_in": {"name": "cifar100"}}})",
                  "dataset.stand_in.name: unknown \"cifar100\"; known: fashion-mnist, synthetic"},
        Malformed{R"({"train": {"lr": -1}})", "train.lr: must be positive"},
        Malformed{R"({"train": {"seed": 3}})", "train.seed: set seeds with the top-level \"seeds\" list"},
        Malformed{R"({"seeds": []})", "seeds: must be a non-empty list"},
        Malformed{R"({"seeds": [0, "one"]})", "seeds[1]: must be an integer"},
        Malformed{R"({"grid": {"strategies": ["fp32", "int4"]}})",
                  "grid.strategies[1]: unknown strategy \"int4\"; known: fp32, fp16, naive_ptq, bn_fold, mpq"},
        Malformed{R"({"grid": {"strategies": ["fp32", "fp32"]}})",
                  "grid.strategies[1]: label \"fp32\" is used twice; give this entry its own \"label\""},
        Malformed{R"({"grid": {"observers": ["minmax", "kl"]}})",
                  "grid.observers[1]: unknown \"kl\"; known: minmax, histogram, entropy"},
        Malformed{R"({"grid": {"engines": ["fbgemm"]}})",
                  "grid.engines[0]: \"fbgemm\" is not in this LibTorch build; supported: onednn, qnnpack"},
        Malformed{R"({"grid": {"devices": ["tpu"]}})", "grid.devices[0]: unknown \"tpu\"; known: cpu, cuda"},
        Malformed{R"({"grid": {"calibration_sizes": [0]}})", "grid.calibration_sizes[0]: 0 must be positive"},
        Malformed{R"({"measure": {"batch_sizes": [64, 0]}})", "measure.batch_sizes[1]: 0 is outside [1, 65536]"},
        Malformed{R"({"measure": {"threads": "two"}})", "measure.threads: must be an integer"},
        Malformed{R"({"grid": {"strategies": [{"name": "fp32", "params": {"observer": "minmax"}}]}})",
                  "grid.strategies[0]: unknown parameter \"observer\""},
        Malformed{R"({"tags": ["x"]})",
                  "spec: unknown field \"tags\"; known: name, description, dataset, model, train, seeds, grid, "
                  "measure, export, max_attempts, published, slurm"}));

// A synthetic shape reaches the job configs only when set, so the hashes of
// specs without one do not move; a stand-in swaps in by name.
TEST(Spec, SyntheticShapesAndStandIns) {
  qg::testing::FakeCatalog catalog;
  json spec = Valid();
  const auto plain = ParseSpec(spec, catalog, "onednn");
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->dataset.ToJson().contains("synthetic"));
  EXPECT_FALSE(plain->stand_in.has_value());

  spec["dataset"] = json::parse(R"({"name": "fashion-mnist", "stand_in": {"name": "synthetic",
                                    "synthetic": {"channels": 3, "size": 32, "train": 100}}})");
  const auto with = ParseSpec(spec, catalog, "onednn");
  ASSERT_TRUE(with) << with.error().ToString();
  ASSERT_TRUE(with->stand_in.has_value());
  EXPECT_EQ(with->dataset.name, "fashion-mnist");
  EXPECT_EQ(with->stand_in->synthetic.channels, 3);

  const json swapped = WithStandIn(spec);
  EXPECT_EQ(swapped["name"], "paper-004-synthetic");
  const auto standing_in = ParseSpec(swapped, catalog, "onednn");
  ASSERT_TRUE(standing_in) << standing_in.error().ToString();
  EXPECT_EQ(standing_in->dataset.name, "synthetic");
  EXPECT_EQ(standing_in->stands_in_for, "fashion-mnist");
  const json config = standing_in->dataset.ToJson();
  EXPECT_EQ(config["synthetic"]["size"], 32);
  EXPECT_EQ(config["synthetic"]["train"], 100);
  EXPECT_EQ(config["synthetic"]["test"], 512);  // the default
  EXPECT_EQ(DatasetConfig::FromJson(config, "d")->synthetic, standing_in->dataset.synthetic);
  EXPECT_EQ(WithStandIn(Valid()), Valid());  // no stand-in: unchanged
}

// Smoke keeps every job of the DAG (same strategies, seeds, batch axis) and
// cuts each one's work.
TEST(Spec, SmokeCutsEveryJobsWorkButKeepsTheDag) {
  json spec = Valid();
  spec["dataset"] = json::parse(R"({"name": "synthetic", "synthetic": {"train": 5000, "test": 1000, "size": 299}})");
  spec["grid"]["calibration_sizes"] = {1000};
  spec["measure"] = json::parse(R"({"batch_sizes": [1, 64, 128], "runs": 100})");
  const json smoke = Smoke(spec);
  EXPECT_EQ(smoke["name"], "paper-004-smoke");
  EXPECT_EQ(smoke["train"]["epochs"], 1);
  EXPECT_EQ(smoke["train"]["max_steps_per_epoch"], 2);
  EXPECT_EQ(smoke["dataset"]["synthetic"]["train"], 64);
  EXPECT_EQ(smoke["dataset"]["synthetic"]["test"], 32);
  EXPECT_EQ(smoke["dataset"]["synthetic"]["size"], 96);
  EXPECT_EQ(smoke["grid"]["calibration_sizes"], json::array({32}));
  EXPECT_EQ(smoke["grid"]["strategies"][2]["params"]["calibration_size"], 32);  // the mpq entry's own
  EXPECT_EQ(smoke["grid"]["strategies"][2]["params"]["selection_size"], 32);
  EXPECT_EQ(smoke["measure"]["batch_sizes"], json::array({1, 8}));
  EXPECT_EQ(smoke["measure"]["runs"], 2);
  // The same DAG: strategies by name, seeds, observers (the real catalog
  // checks the cut parameters: tests/e2e/seed_specs_test.cc runs them).
  ASSERT_EQ(smoke["grid"]["strategies"].size(), spec["grid"]["strategies"].size());
  for (size_t i = 0; i < spec["grid"]["strategies"].size(); ++i) {
    const json& e = spec["grid"]["strategies"][i];
    EXPECT_EQ(smoke["grid"]["strategies"][i]["name"], e.is_string() ? e : e["name"]);
  }
  EXPECT_EQ(smoke["seeds"], spec["seeds"]);
  EXPECT_EQ(smoke["grid"]["observers"], spec["grid"]["observers"]);
}

TEST(Spec, LoadNamesTheFileAndJsonSyntaxErrors) {
  qg::testing::FakeCatalog catalog;
  const auto missing = LoadSpec("/nonexistent/spec.json", catalog, "onednn");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  const std::string path = ::testing::TempDir() + "/qg_bad_spec.json";
  std::ofstream(path) << "{\"name\": \"x\",,}";
  const auto bad = LoadSpec(path, catalog, "onednn");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("spec '" + path + "' is not valid JSON"), std::string::npos);
  std::ofstream(path) << R"({"name": "x", "dataset": {"name": "fashion-mnist"}, "model": {"name": "compact_cnn"},
                            "grid": {"strategies": ["fp64"]}})";
  const auto unknown = LoadSpec(path, catalog, "onednn");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message.rfind("spec '" + path + "': grid.strategies[0]: unknown strategy", 0), 0u);
}

}  // namespace
}  // namespace qg::exp
