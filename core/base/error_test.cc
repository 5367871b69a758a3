#include "core/base/error.h"

#include <gtest/gtest.h>

#include <set>

namespace qg {
namespace {

TEST(Error, FormatsMessageAndCode) {
  const Error e = Error::NotFound("dataset '{}' has {} files", "cifar", 0);
  EXPECT_EQ(e.code, ErrorCode::kNotFound);
  EXPECT_EQ(e.message, "dataset 'cifar' has 0 files");
  EXPECT_EQ(e.ToString(), "not_found: dataset 'cifar' has 0 files");
}

TEST(Error, WithContextPrefixesCulprit) {
  const Error e = Error::Corruption("bad magic").WithContext("'x.idx'");
  EXPECT_EQ(e.message, "'x.idx': bad magic");
  EXPECT_EQ(e.code, ErrorCode::kCorruption);
}

TEST(Error, CodeNamesRoundTripAndExitCodesAreDistinctNonZero) {
  const ErrorCode all[] = {ErrorCode::kInvalidArgument, ErrorCode::kNotFound, ErrorCode::kCorruption,
                           ErrorCode::kIOError, ErrorCode::kUnavailable, ErrorCode::kUnauthenticated,
                           ErrorCode::kDeadlineExceeded, ErrorCode::kFailedPrecondition,
                           ErrorCode::kCancelled, ErrorCode::kInternal};
  std::set<int> exits;
  for (ErrorCode c : all) {
    EXPECT_EQ(CodeFromName(CodeName(c)), c);
    EXPECT_NE(ExitCodeFor(c), 0);
    exits.insert(ExitCodeFor(c));
  }
  EXPECT_EQ(exits.size(), std::size(all));
  EXPECT_EQ(CodeFromName("no_such_code"), ErrorCode::kInternal);
}

}  // namespace
}  // namespace qg
