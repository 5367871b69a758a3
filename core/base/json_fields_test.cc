#include "core/base/json_fields.h"

#include <gtest/gtest.h>

namespace qg {
namespace {

using nlohmann::json;

TEST(JsonFields, ReadsFieldsAndFillsDefaultsIntoResolved) {
  const json measure{{"runs", 7}, {"name", "x"}};
  JsonFields f(measure, "measure");
  EXPECT_EQ(*f.Integer("runs", 50, 1, 100), 7);
  EXPECT_EQ(*f.Integer("warmup_runs", 20, 0, 100), 20);
  EXPECT_EQ(*f.String("name"), "x");
  EXPECT_EQ(*f.Flag("fast", false), false);
  EXPECT_EQ(*f.Integers("batch_sizes", {1, 64}), (std::vector<int64_t>{1, 64}));
  EXPECT_TRUE(f.Finish());
  EXPECT_EQ(f.Resolved(), (json{{"runs", 7}, {"warmup_runs", 20}, {"name", "x"}, {"fast", false},
                                {"batch_sizes", {1, 64}}}));
}

TEST(JsonFields, EveryErrorNamesThePathOfTheField) {
  const json j{{"lr", "fast"}, {"epochs", -1}, {"observer", "minmx"}, {"sizes", {1, "two"}}, {"on", 1}};
  JsonFields f(j, "grid.strategies[2]");
  EXPECT_EQ(f.Number("lr", 0.1, 0, 1).error().message, "grid.strategies[2].lr: must be a number");
  EXPECT_EQ(f.Integer("epochs", 3, 1, 100).error().message, "grid.strategies[2].epochs: -1 is outside [1, 100]");
  EXPECT_EQ(f.Choice("observer", "minmax", {"minmax", "histogram"}).error().message,
            "grid.strategies[2].observer: unknown \"minmx\"; known: minmax, histogram");
  EXPECT_EQ(f.Integers("sizes").error().message, "grid.strategies[2].sizes[1]: must be an integer");
  EXPECT_EQ(f.Flag("on", false).error().message, "grid.strategies[2].on: must be true or false");
  EXPECT_EQ(f.RequiredString("name").error().message, "grid.strategies[2].name: required");
  const json spec{{"seeds", json::array()}};
  JsonFields top(spec, "");
  EXPECT_EQ(top.Integers("seeds", {0}, /*non_empty=*/true).error().message,
            "seeds: must be a non-empty list");
}

TEST(JsonFields, UnknownFieldsAreRefusedWithTheKnownOnes) {
  const json train{{"learning_rate", 0.1}};
  JsonFields f(train, "train");
  ASSERT_TRUE(f.Number("lr", 0.05, 0, 10));
  ASSERT_TRUE(f.Integer("epochs", 3, 1, 100));
  EXPECT_EQ(f.Finish().error().message, "train: unknown field \"learning_rate\"; known: lr, epochs");
  const json typo{{"datset", json::object()}};
  JsonFields early(typo, "");
  EXPECT_EQ(early.AllowOnly({"name", "dataset"}).error().message, "spec: unknown field \"datset\"; known: name, dataset");
  EXPECT_EQ(JsonFields(json::array(), "grid").Finish().error().message, "grid: must be an object");
}

}  // namespace
}  // namespace qg
