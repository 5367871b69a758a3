#include "core/base/result.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace qg {
namespace {

Result<int> Parse(const std::string& s) {
  if (s.empty()) return Error::InvalidArgument("empty input");
  return std::stoi(s);
}

Result<int> Doubled(const std::string& s) {
  QG_ASSIGN_OR_RETURN(int v, Parse(s));
  return v * 2;
}

Status CheckPositive(int v) {
  if (v <= 0) return Error::InvalidArgument("{} is not positive", v);
  return OkStatus();
}

Status Pipeline(const std::string& s) {
  QG_ASSIGN_OR_RETURN(int v, Doubled(s));
  QG_RETURN_IF_ERROR(CheckPositive(v));
  return OkStatus();
}

Result<std::unique_ptr<int>> MoveOnly() { return std::make_unique<int>(7); }

TEST(Result, PropagatesValuesAndErrors) {
  EXPECT_EQ(*Doubled("21"), 42);
  const auto bad = Doubled("");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "empty input");
  EXPECT_TRUE(Pipeline("3"));
  const auto neg = Pipeline("-1");
  ASSERT_FALSE(neg);
  EXPECT_EQ(neg.error().message, "-2 is not positive");
}

TEST(Result, AssignOrReturnMovesMoveOnlyValues) {
  auto f = []() -> Result<int> {
    QG_ASSIGN_OR_RETURN(auto p, MoveOnly());
    return *p;
  };
  EXPECT_EQ(*f(), 7);
}

}  // namespace
}  // namespace qg
