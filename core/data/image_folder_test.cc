#include "core/data/image_folder.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>

#include "tests/testing/dataset_fixtures.h"
#include "tests/testing/temp_dir.h"

namespace qg::data {
namespace {

using qg::testing::TempDir;

TEST(ImageFolder, ClassesAreSortedFolderNamesAndImagesDecodeToTheCrop) {
  TempDir dir;
  qg::testing::WriteImageFolder(dir.File("root"), {"zebra", "ant", "moth"}, 2, 40, 30, "png");
  const auto ds = ImageFolderDataset::Open(dir.File("root"), 24);
  ASSERT_TRUE(ds) << ds.error().ToString();
  EXPECT_EQ((*ds)->Size(), 6);
  EXPECT_EQ((*ds)->Info().class_names, (std::vector<std::string>{"ant", "moth", "zebra"}));
  const auto batch = (*ds)->Fetch({0, 5});
  ASSERT_TRUE(batch) << batch.error().ToString();
  EXPECT_EQ(batch->images.sizes(), (std::vector<int64_t>{2, 3, 24, 24}));
  EXPECT_EQ(batch->labels[0].item<int64_t>(), 0);
  EXPECT_EQ(batch->labels[1].item<int64_t>(), 2);
  // The fixture paints class c with values c*80 + [0,40): "ant" (written second,
  // class 1 in the fixture's own order) decodes to about 80..120.
  const double mean = batch->images[0].to(torch::kFloat32).mean().item<double>();
  EXPECT_GT(mean, 75);
  EXPECT_LT(mean, 125);
}

TEST(ImageFolder, DecodesJpeg) {
  TempDir dir;
  qg::testing::WriteImageFolder(dir.File("root"), {"a", "b"}, 1, 64, 64, "jpg");
  const auto ds = ImageFolderDataset::Open(dir.File("root"), 32);
  ASSERT_TRUE(ds);
  const auto batch = (*ds)->Fetch({1});
  ASSERT_TRUE(batch) << batch.error().ToString();
  EXPECT_EQ(batch->images.sizes(), (std::vector<int64_t>{1, 3, 32, 32}));
}

TEST(ImageFolder, CorruptImageIsCorruptionNamingTheFile) {
  TempDir dir;
  qg::testing::WriteImageFolder(dir.File("root"), {"a"}, 2, 16, 16, "png");
  std::ofstream(dir.File("root/a/img1.png"), std::ios::binary | std::ios::trunc) << "not a png at all";
  const auto ds = ImageFolderDataset::Open(dir.File("root"), 8);
  ASSERT_TRUE(ds);
  EXPECT_TRUE((*ds)->Fetch({0}));
  const auto bad = (*ds)->Fetch({1});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kCorruption);
  EXPECT_NE(bad.error().message.find("img1.png"), std::string::npos) << bad.error().message;
}

TEST(ImageFolder, MissingOrEmptyRootIsAnError) {
  TempDir dir;
  const auto missing = ImageFolderDataset::Open(dir.File("nope"), 8);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  std::filesystem::create_directories(dir.File("empty/cls"));
  const auto empty = ImageFolderDataset::Open(dir.File("empty"), 8);
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace qg::data
