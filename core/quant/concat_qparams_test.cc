#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>
#include <string>

#include "core/data/dataset_registry.h"
#include "core/models/graph_builder.h"
#include "core/quant/convert.h"
#include "core/quant/engine.h"
#include "core/quant/internal/qstep.h"

namespace qg::quant {
namespace {

// A concat's inputs that requantizing blocks write for it alone are written
// on the concat's qparams, so the concat copies their bytes. An input others
// read too, one a pool passes through, and a ReLU's where the concat's range
// starts below 0 keep their own. A concat read only by another takes the
// outer one's, and so do its own inputs.
TEST(Convert, AConcatsOwnInputsAreWrittenOnItsQParams) {
  ASSERT_TRUE(UseEngine(DefaultEngine()));
  models::GraphBuilder b(1);
  const int x = b.input();
  auto conv = [&](const std::string& name, int in, int64_t out) {
    return b.Conv(name, in, out, {3, 3}, {1, 1}, {1, 1}, /*bias=*/true);
  };
  const int a = b.ReLU("a.relu", conv("a", x, 4)), r0 = b.ReLU("r0.relu", conv("r0", x, 4));
  const int inner = b.Concat("inner", {a, r0});  // a conv reads it: all >= 0
  const int c = conv("c", x, 4);                 // `mixed` and `e` read it
  const int d = conv("d", x, 4);
  const int m = b.MaxPool("m", d, {1, 1}, {1, 1});  // passes d to `mixed`
  const int r = b.ReLU("r.relu", conv("r", x, 4));
  const int f = conv("f", x, 4);
  const int mixed = b.Concat("mixed", {c, m, r, f});  // only `outer` reads it
  const int e = b.Add("e", c, conv("h", x, 4));
  const int outer = b.Concat("outer", {mixed, e});
  const int sum = b.Add("sum", conv("head", inner, 20), outer);
  const int logits = b.Linear("fc", b.Flatten("flatten", b.AdaptiveAvgPool("gap", sum)), 20, 10);
  torch::manual_seed(3);
  models::GraphModule model(b.Finish({logits}), models::ModelMeta{.model_name = "concats"});
  model->eval();
  const auto data = *data::OpenDataset(
      {.name = "synthetic", .synthetic_train = 64, .synthetic_test = 16, .synthetic_channels = 1, .synthetic_size = 8});
  data::DataLoader loader(data.train, {.batch_size = 32});
  const QuantPlan plan = *PlanQuantization(model->graph());
  const ActivationQParams calibrated = *Calibrate(model, plan, loader, {.kind = "minmax"}, QuantSpec{});
  ASSERT_EQ(calibrated.at(inner).zero_point, 0);
  ASSERT_NE(calibrated.at(outer).zero_point, 0);
  auto q = *Convert(model, plan, calibrated, {});
  std::map<std::string, QParams> out;
  for (const auto& s : q->steps()) out[s.name] = s.out;
  auto same = [](const QParams& p, const QParams& o) { return p.scale == o.scale && p.zero_point == o.zero_point; };
  for (const char* shared : {"a", "r0"}) EXPECT_TRUE(same(out[shared], calibrated.at(inner))) << shared;
  for (const char* shared : {"mixed", "f", "e"}) EXPECT_TRUE(same(out[shared], calibrated.at(outer))) << shared;
  EXPECT_TRUE(same(out["c"], calibrated.at(c)));
  EXPECT_TRUE(same(out["d"], calibrated.at(d)));
  EXPECT_TRUE(same(out["r"], calibrated.at(r)));
  EXPECT_TRUE(same(out["inner"], calibrated.at(inner)));
  // The change is seen: one of the ReLUs had a range of its own, and f.
  EXPECT_FALSE(same(calibrated.at(a), calibrated.at(inner)) && same(calibrated.at(r0), calibrated.at(inner)));
  EXPECT_FALSE(same(calibrated.at(f), calibrated.at(outer)));

  const auto values = q->RunKeepingValues(torch::randn({2, 1, 8, 8}));
  const auto bytes = [&](int value) { return values[value].int_repr(); };
  EXPECT_TRUE(torch::equal(bytes(inner).narrow(1, 0, 4), bytes(a)));   // copied
  EXPECT_TRUE(torch::equal(bytes(outer).narrow(1, 12, 4), bytes(f)));  // copied twice
  EXPECT_TRUE(torch::equal(bytes(outer).narrow(1, 16, 4), bytes(e)));
  EXPECT_TRUE(torch::allclose(values[outer].dequantize().narrow(1, 0, 4), values[c].dequantize(), 0,
                              values[outer].q_scale() / 2 + 1e-6));  // requantized
}

}  // namespace
}  // namespace qg::quant
