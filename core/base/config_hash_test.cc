#include "core/base/config_hash.h"

#include <gtest/gtest.h>

namespace qg {
namespace {

using nlohmann::json;

TEST(ConfigHash, KeyOrderDoesNotMatter) {
  const json a = json::parse(R"({"model":"compact_cnn","train":{"lr":0.05,"epochs":3},"seed":0})");
  const json b = json::parse(R"({"seed":0,"train":{"epochs":3,"lr":0.05},"model":"compact_cnn"})");
  EXPECT_EQ(CanonicalJson(a), CanonicalJson(b));
  EXPECT_EQ(ConfigHash(a), ConfigHash(b));
  EXPECT_EQ(ConfigHash(a).size(), 64u);
}

TEST(ConfigHash, AnyChangedValueChangesTheHash) {
  const json base = json::parse(R"({"model":"compact_cnn","train":{"lr":0.05,"epochs":3},"seed":0})");
  json lr = base;
  lr["train"]["lr"] = 0.051;
  json seed = base;
  seed["seed"] = 1;
  json type = base;
  type["seed"] = "0";
  EXPECT_NE(ConfigHash(base), ConfigHash(lr));
  EXPECT_NE(ConfigHash(base), ConfigHash(seed));
  EXPECT_NE(ConfigHash(base), ConfigHash(type));
}

TEST(ConfigHash, IsStableAcrossReleases) {
  // Pinned: a change here silently invalidates every stored result.
  EXPECT_EQ(CanonicalJson(json::parse(R"({"b":[1,2.5,"x"],"a":true})")), R"({"a":true,"b":[1,2.5,"x"]})");
  EXPECT_EQ(ConfigHash(json::parse(R"({"a":1})")),
            "015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862");
}

}  // namespace
}  // namespace qg
