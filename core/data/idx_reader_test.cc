#include "core/data/idx_reader.h"

#include <gtest/gtest.h>

#include <fstream>

#include "tests/testing/dataset_fixtures.h"
#include "tests/testing/temp_dir.h"

namespace qg::data {
namespace {

using qg::testing::TempDir;
using qg::testing::WriteIdx;

class IdxReader : public ::testing::TestWithParam<bool> {};

TEST_P(IdxReader, ReadsImagesAndLabelsRawAndGzip) {
  TempDir dir;
  const bool gzip = GetParam();
  std::vector<uint8_t> pixels(3 * 4 * 5);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i);
  WriteIdx(dir.File("img"), {3, 4, 5}, pixels, gzip);
  WriteIdx(dir.File("lbl"), {3}, {7, 0, 9}, gzip);
  const auto data = ReadIdxImagesAndLabels(dir.File("img"), dir.File("lbl"), 10);
  ASSERT_TRUE(data) << data.error().ToString();
  EXPECT_EQ(data->count, 3);
  EXPECT_EQ(data->channels, 1);
  EXPECT_EQ(data->height, 4);
  EXPECT_EQ(data->width, 5);
  EXPECT_EQ(data->pixels, pixels);
  EXPECT_EQ(data->labels, (std::vector<int64_t>{7, 0, 9}));
}

TEST_P(IdxReader, WrongMagicIsCorruptionNamingTheFile) {
  TempDir dir;
  WriteIdx(dir.File("img"), {2, 2}, {1, 2, 3, 4}, GetParam());  // rank 2, images need rank 3
  const auto r = ReadIdxFile(dir.File("img"), 3);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kCorruption);
  EXPECT_NE(r.error().message.find(dir.File("img")), std::string::npos);
  EXPECT_NE(r.error().message.find("bad magic number 0x00000802, expected 0x00000803"), std::string::npos)
      << r.error().message;
}

INSTANTIATE_TEST_SUITE_P(RawAndGzip, IdxReader, ::testing::Bool());

TEST(IdxReaderFile, TruncatedRawFileSaysHowShort) {
  TempDir dir;
  WriteIdx(dir.File("img"), {10, 28, 28}, std::vector<uint8_t>(10 * 784, 1), false);
  qg::testing::TruncateFile(dir.File("img"), 16 + 5 * 784);
  const auto r = ReadIdxFile(dir.File("img"), 3);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kCorruption);
  EXPECT_NE(r.error().message.find("truncated"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("7840 bytes"), std::string::npos) << r.error().message;
}

TEST(IdxReaderFile, TruncatedGzipIsCorruption) {
  TempDir dir;
  std::vector<uint8_t> noise(10 * 784);
  for (size_t i = 0; i < noise.size(); ++i) noise[i] = static_cast<uint8_t>(i * 2654435761u >> 24);
  WriteIdx(dir.File("img.gz"), {10, 28, 28}, noise, true);
  qg::testing::TruncateFile(dir.File("img.gz"), 200);
  const auto r = ReadIdxFile(dir.File("img.gz"), 3);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kCorruption) << r.error().ToString();
  EXPECT_NE(r.error().message.find("img.gz"), std::string::npos);
}

TEST(IdxReaderFile, GarbageGzipIsCorruption) {
  TempDir dir;
  // A gzip header followed by garbage: zlib reports a damaged stream.
  const std::string bytes = std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", 10) + std::string(100, '\xAB');
  std::ofstream(dir.File("bad.gz"), std::ios::binary) << bytes;
  const auto r = ReadIdxFile(dir.File("bad.gz"), 3);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kCorruption) << r.error().ToString();
}

TEST(IdxReaderFile, MissingFileIsNotFound) {
  const auto r = ReadIdxFile("/nonexistent/train-images-idx3-ubyte", 3);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_NE(r.error().message.find("/nonexistent/train-images-idx3-ubyte"), std::string::npos);
}

TEST(IdxReaderFile, CountMismatchAndBadLabelAreCorruption) {
  TempDir dir;
  WriteIdx(dir.File("img"), {2, 2, 2}, std::vector<uint8_t>(8, 0), false);
  WriteIdx(dir.File("lbl3"), {3}, {0, 1, 2}, false);
  WriteIdx(dir.File("lbl_bad"), {2}, {0, 10}, false);
  auto mismatch = ReadIdxImagesAndLabels(dir.File("img"), dir.File("lbl3"), 10);
  ASSERT_FALSE(mismatch);
  EXPECT_NE(mismatch.error().message.find("has 2 images but"), std::string::npos);
  auto bad_label = ReadIdxImagesAndLabels(dir.File("img"), dir.File("lbl_bad"), 10);
  ASSERT_FALSE(bad_label);
  EXPECT_NE(bad_label.error().message.find("label 10 at index 1"), std::string::npos) << bad_label.error().message;
}

}  // namespace
}  // namespace qg::data
