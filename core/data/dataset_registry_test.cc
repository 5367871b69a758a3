#include "core/data/dataset_registry.h"

#include <gtest/gtest.h>

#include "tests/testing/dataset_fixtures.h"
#include "tests/testing/temp_dir.h"

namespace qg::data {
namespace {

using qg::testing::TempDir;

TEST(DatasetRegistry, OpensFashionLayoutRawAndGzip) {
  for (bool gzip : {false, true}) {
    TempDir dir;
    qg::testing::WriteFashionLikeDir(dir.path().string(), 30, 10, gzip);
    const auto splits = OpenDataset({.name = "fashion-mnist", .dir = dir.path().string()});
    ASSERT_TRUE(splits) << splits.error().ToString();
    EXPECT_EQ(splits->train->Size(), 30);
    EXPECT_EQ(splits->test->Size(), 10);
    EXPECT_EQ(splits->train->Info().channels, 1);
    EXPECT_EQ(splits->train->Info().height, 28);
    EXPECT_EQ(splits->train->Info().class_names[9], "Ankle boot");
  }
}

TEST(DatasetRegistry, OpensCifarDirectory) {
  TempDir dir;
  qg::testing::WriteCifarDir(dir.path().string(), 3, 4);
  const auto splits = OpenDataset({.name = "cifar10", .dir = dir.path().string()});
  ASSERT_TRUE(splits) << splits.error().ToString();
  EXPECT_EQ(splits->train->Size(), 15);
  EXPECT_EQ(splits->test->Size(), 4);
  EXPECT_EQ(splits->test->Info().class_names[0], "airplane");
}

TEST(DatasetRegistry, OpensImageFolderTrainAndVal) {
  TempDir dir;
  qg::testing::WriteImageFolder(dir.File("train"), {"a", "b"}, 2, 20, 20, "png");
  qg::testing::WriteImageFolder(dir.File("val"), {"a", "b"}, 1, 20, 20, "jpg");
  const auto splits = OpenDataset({.name = "image-folder", .dir = dir.path().string(), .image_size = 16});
  ASSERT_TRUE(splits) << splits.error().ToString();
  EXPECT_EQ(splits->train->Size(), 4);
  EXPECT_EQ(splits->test->Size(), 2);
  EXPECT_EQ(splits->train->Info().height, 16);
}

TEST(DatasetRegistry, ErrorsNameTheCulprit) {
  const auto unknown = OpenDataset({.name = "imagenet21k"});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message,
            "unknown dataset 'imagenet21k'; known: fashion-mnist, mnist, cifar10, image-folder, synthetic");
  TempDir dir;
  const auto missing = OpenDataset({.name = "fashion-mnist", .dir = dir.File("nothing")});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  qg::testing::WriteFashionLikeDir(dir.path().string(), 5, 5, false);
  std::filesystem::remove(dir.File("t10k-labels-idx1-ubyte"));
  const auto no_labels = OpenDataset({.name = "fashion-mnist", .dir = dir.path().string()});
  ASSERT_FALSE(no_labels);
  EXPECT_NE(no_labels.error().message.find("t10k-labels-idx1-ubyte"), std::string::npos);
}

TEST(DatasetRegistry, SyntheticIsSeededAndSplitsDiffer) {
  const auto a = OpenDataset({.name = "synthetic", .synthetic_train = 20, .synthetic_test = 10, .seed = 4});
  const auto b = OpenDataset({.name = "synthetic", .synthetic_train = 20, .synthetic_test = 10, .seed = 4});
  ASSERT_TRUE(a && b);
  const auto ta = a->train->Fetch({0, 1, 2}), tb = b->train->Fetch({0, 1, 2}), te = a->test->Fetch({0, 1, 2});
  EXPECT_TRUE(torch::equal(ta->images, tb->images));
  EXPECT_FALSE(torch::equal(ta->images, te->images));
}

TEST(DatasetRegistry, ValidationSplitHoldsOutTheTail) {
  const auto s = OpenDataset({.name = "synthetic", .synthetic_train = 100, .synthetic_test = 10});
  const auto split = SplitValidation(s->train, 20);
  EXPECT_EQ(split.train->Size(), 80);
  EXPECT_EQ(split.val->Size(), 20);
  EXPECT_TRUE(torch::equal(split.val->Fetch({0})->images, s->train->Fetch({80})->images));
}

}  // namespace
}  // namespace qg::data
