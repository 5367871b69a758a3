#include "experiments/spec.h"

#include <gtest/gtest.h>

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
                  "dataset: unknown field \"path\"; known: name, dir, image_size"},
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
