#include "core/base/files.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace qg {
namespace {

namespace fs = std::filesystem;

TEST(Files, AtomicWriteCreatesParentsAndRoundTrips) {
  const fs::path dir = fs::temp_directory_path() / "qg_files_test";
  fs::remove_all(dir);
  const std::string path = (dir / "a" / "b.bin").string();
  const std::string bytes = std::string("x") + '\0' + "y\nz";
  ASSERT_TRUE(WriteFileAtomic(path, bytes));
  EXPECT_EQ(*ReadFile(path), bytes);
  EXPECT_EQ(*FileSize(path), 5);
  // No temporary file is left beside it.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir / "a"), fs::directory_iterator()), 1);
  fs::remove_all(dir);
}

TEST(Files, MissingFileNamesThePath) {
  const auto r = ReadFile("/nonexistent/qg/file.txt");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_NE(r.error().message.find("/nonexistent/qg/file.txt"), std::string::npos);
  EXPECT_FALSE(FileSize("/nonexistent/qg/file.txt"));
}

}  // namespace
}  // namespace qg
