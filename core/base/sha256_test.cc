#include "core/base/sha256.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace qg {
namespace {

TEST(Sha256, KnownAnswers) {
  // FIPS 180-2 test vectors.
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, FileMatchesBytesAndMissingFileIsNotFound) {
  const auto path = std::filesystem::temp_directory_path() / "qg_sha256_test.txt";
  {
    std::ofstream(path) << "abc";
  }
  EXPECT_EQ(*Sha256File(path.string()), Sha256Hex("abc"));
  std::filesystem::remove(path);
  const auto missing = Sha256File(path.string());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message.find("qg_sha256_test.txt"), std::string::npos);
}

}  // namespace
}  // namespace qg
