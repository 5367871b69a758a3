#include "core/data/cifar10_binary.h"

#include <gtest/gtest.h>

#include <fstream>

#include "tests/testing/dataset_fixtures.h"
#include "tests/testing/temp_dir.h"

namespace qg::data {
namespace {

using qg::testing::TempDir;

TEST(Cifar10Binary, ReadsRecordsInFileOrder) {
  TempDir dir;
  qg::testing::WriteCifarBatch(dir.File("a.bin"), 3, 1);
  qg::testing::WriteCifarBatch(dir.File("b.bin"), 2, 2);
  const auto data = ReadCifar10Files({dir.File("a.bin"), dir.File("b.bin")});
  ASSERT_TRUE(data) << data.error().ToString();
  EXPECT_EQ(data->count, 5);
  EXPECT_EQ(data->channels, 3);
  EXPECT_EQ(data->height, 32);
  EXPECT_EQ(data->labels, (std::vector<int64_t>{0, 1, 2, 0, 1}));
  // The first pixel byte of record 1 is byte 3073 + 1 of the file.
  std::ifstream in(dir.File("a.bin"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(data->pixels[3072], static_cast<uint8_t>(bytes[3074]));
}

TEST(Cifar10Binary, TruncatedRecordIsCorruption) {
  TempDir dir;
  qg::testing::WriteCifarBatch(dir.File("data_batch_1.bin"), 4, 1);
  qg::testing::TruncateFile(dir.File("data_batch_1.bin"), 3 * 3073 + 100);
  const auto r = ReadCifar10Files({dir.File("data_batch_1.bin")});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kCorruption);
  EXPECT_NE(r.error().message.find("data_batch_1.bin"), std::string::npos);
  EXPECT_NE(r.error().message.find("9319 bytes is not a whole number of 3073-byte"), std::string::npos)
      << r.error().message;
}

TEST(Cifar10Binary, OutOfRangeLabelIsCorruption) {
  TempDir dir;
  std::string record(3073, '\0');
  record[0] = 12;
  std::ofstream(dir.File("x.bin"), std::ios::binary) << record;
  const auto r = ReadCifar10Files({dir.File("x.bin")});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("record 0 has label 12"), std::string::npos) << r.error().message;
}

TEST(Cifar10Binary, SplitFilesFindTheSubfolderAndNameTheMissingFile) {
  TempDir dir;
  qg::testing::WriteCifarDir(dir.File("cifar-10-batches-bin"), 2, 2);
  const auto train = Cifar10SplitFiles(dir.path().string(), "train");
  ASSERT_TRUE(train) << train.error().ToString();
  EXPECT_EQ(train->size(), 5u);
  std::filesystem::remove(dir.File("cifar-10-batches-bin/data_batch_4.bin"));
  const auto missing = Cifar10SplitFiles(dir.path().string(), "train");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message.find("data_batch_4.bin"), std::string::npos);
  EXPECT_FALSE(Cifar10SplitFiles(dir.path().string(), "validation"));
}

}  // namespace
}  // namespace qg::data
