#include "core/base/temp_dir.h"

#include <gtest/gtest.h>

#include <fstream>

namespace qg {
namespace {

TEST(TempDir, IsFreshPrivateAndRemovedWithItsContents) {
  std::filesystem::path kept;
  {
    TempDir a("qg-temp-dir-test-"), b("qg-temp-dir-test-");
    ASSERT_FALSE(a.path().empty());
    EXPECT_NE(a.path(), b.path());
    EXPECT_TRUE(std::filesystem::is_directory(a.path()));
    EXPECT_TRUE(std::filesystem::is_empty(a.path()));
    EXPECT_EQ(a.path().filename().string().rfind("qg-temp-dir-test-", 0), 0u);
    const auto perms = std::filesystem::status(a.path()).permissions();
    EXPECT_EQ(perms & (std::filesystem::perms::group_all | std::filesystem::perms::others_all),
              std::filesystem::perms::none);
    std::filesystem::create_directories(a.path() / "sub");
    std::ofstream(a.File("sub/x.txt")) << "data";
    EXPECT_EQ(a.File("sub/x.txt"), (a.path() / "sub" / "x.txt").string());
    kept = a.path();
  }
  EXPECT_FALSE(std::filesystem::exists(kept));
}

}  // namespace
}  // namespace qg
