#include "core/models/model_io.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "core/base/sha256.h"
#include "core/models/model_registry.h"
#include "tests/testing/temp_dir.h"

namespace qg::models {
namespace {

using qg::testing::TempDir;

TEST(ModelIo, RoundTripGivesTheSameOutputsAndGraph) {
  TempDir dir;
  auto model = *CreateModel("resnet18_cifar", {.in_channels = 3, .image_size = 32}, 1);
  {
    // Non-trivial BN statistics, so buffers must round-trip too.
    model->train();
    torch::NoGradGuard g;
    model->forward(torch::randn({4, 3, 32, 32}));
  }
  model->eval();
  ASSERT_TRUE(SaveModel(model, dir.File("m.pt")));
  auto loaded = LoadModel(dir.File("m.pt"));
  ASSERT_TRUE(loaded) << loaded.error().ToString();
  EXPECT_EQ((*loaded)->graph().ToJson(), model->graph().ToJson());
  EXPECT_EQ((*loaded)->meta().model_name, "resnet18_cifar");
  torch::NoGradGuard g;
  const auto x = torch::randn({2, 3, 32, 32});
  EXPECT_TRUE(torch::equal((*loaded)->forward(x), model->forward(x)));
}

// A half-precision file (what the fp16 strategy stores) loads as half, and
// widens to exactly the half-rounded weights; before the file said its type,
// loading read each half storage as float, past its end.
TEST(ModelIo, HalfPrecisionFilesLoadAsHalfAndWiden) {
  TempDir dir;
  auto model = *CreateModel("compact_cnn", {}, 1);
  model->eval();
  auto half = CloneModel(model);
  half->to(torch::kHalf);
  ASSERT_TRUE(SaveModel(half, dir.File("half.pt")));
  auto loaded = LoadModel(dir.File("half.pt"));
  ASSERT_TRUE(loaded) << loaded.error().ToString();
  for (const auto& p : (*loaded)->parameters()) EXPECT_EQ(p.scalar_type(), torch::kHalf);
  auto widened = CloneModel(*loaded);
  const auto a = widened->parameters(), b = half->parameters();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].scalar_type(), torch::kFloat32);
    EXPECT_TRUE(torch::equal(a[i], b[i].to(torch::kFloat32)));
  }
}

TEST(ModelIo, SameWeightsGiveTheSameFileBytesInAnotherProcess) {
  // LibTorch names each archive's classes with a per-process counter and the
  // archive root after the file name, so determinism is a property across
  // processes that save under the same name: fork, and save in both.
  TempDir dir;
  const ModelOptions o{.in_channels = 1, .image_size = 28};
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  const std::string path = dir.File(child == 0 ? "child/model.pt" : "parent/model.pt");
  const bool saved = static_cast<bool>(SaveModel(*CreateModel("compact_cnn", o, 5), path));
  if (child == 0) _exit(saved ? 0 : 1);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(saved);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(*Sha256File(dir.File("parent/model.pt")), *Sha256File(dir.File("child/model.pt")));
}

TEST(ModelIo, MissingTruncatedAndForeignFilesAreRejected) {
  TempDir dir;
  const auto missing = LoadModel(dir.File("none.pt"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);

  ASSERT_TRUE(SaveModel(*CreateModel("compact_cnn", {.in_channels = 1, .image_size = 28}, 0), dir.File("m.pt")));
  std::filesystem::resize_file(dir.File("m.pt"), std::filesystem::file_size(dir.File("m.pt")) / 2);
  const auto truncated = LoadModel(dir.File("m.pt"));
  ASSERT_FALSE(truncated);
  EXPECT_EQ(truncated.error().code, ErrorCode::kCorruption);
  EXPECT_NE(truncated.error().message.find("m.pt"), std::string::npos);

  std::ofstream(dir.File("junk.pt")) << "hello";
  const auto junk = LoadModel(dir.File("junk.pt"));
  ASSERT_FALSE(junk);
  EXPECT_EQ(junk.error().code, ErrorCode::kCorruption);
  // LibTorch's reason follows the sentence naming the file, with no empty context before it.
  EXPECT_NE(junk.error().message.find("is not a readable LibTorch archive (PytorchStreamReader"), std::string::npos)
      << junk.error().message;

  torch::serialize::OutputArchive foreign;
  foreign.write("weight", torch::ones({2}));
  foreign.save_to(dir.File("foreign.pt"));
  const auto not_ours = LoadModel(dir.File("foreign.pt"));
  ASSERT_FALSE(not_ours);
  EXPECT_NE(not_ours.error().message.find("no quantgrid record"), std::string::npos);
}

}  // namespace
}  // namespace qg::models
