#include "core/quant/observers.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

namespace qg::quant {
namespace {

TEST(QParams, MatchPyTorchFormulas) {
  // quint8 affine over [-1, 3]: scale 4/255, zero point 0 - round(-1 / scale) = 64.
  const QParams a = ChooseQParams(-1.0, 3.0, QuantSpec{});
  EXPECT_DOUBLE_EQ(a.scale, 4.0 / 255);
  EXPECT_EQ(a.zero_point, 64);
  // The range always includes 0.
  const QParams pos = ChooseQParams(0.5, 2.0, QuantSpec{});
  EXPECT_DOUBLE_EQ(pos.scale, 2.0 / 255);
  EXPECT_EQ(pos.zero_point, 0);
  // qint8 symmetric: scale max|x| / 127.5, zero point 0.
  const QuantSpec w{.dtype = torch::kQInt8, .scheme = QScheme::kSymmetric};
  const QParams s = ChooseQParams(-2.0, 1.0, w);
  EXPECT_DOUBLE_EQ(s.scale, 2.0 / 127.5);
  EXPECT_EQ(s.zero_point, 0);
  // reduce_range halves the levels.
  const QParams r = ChooseQParams(0, 127, QuantSpec{.reduce_range = true});
  EXPECT_DOUBLE_EQ(r.scale, 1.0);
}

double Hi(Observer& o) { return o.Range().second; }

TEST(Observers, MinMaxAndMovingAverage) {
  auto mm = *MakeObserver({.kind = "minmax"});
  mm->Observe(torch::tensor({-1.f, 2.f}));
  mm->Observe(torch::tensor({0.f, 5.f}));
  EXPECT_DOUBLE_EQ(mm->Range().first, -1.0);
  EXPECT_DOUBLE_EQ(Hi(*mm), 5.0);
  auto ma = *MakeObserver({.kind = "moving_average", .averaging_constant = 0.5});
  ma->Observe(torch::tensor({0.f, 2.f}));
  ma->Observe(torch::tensor({0.f, 4.f}));
  EXPECT_DOUBLE_EQ(Hi(*ma), 3.0);
}

TEST(Observers, HistogramAndEntropyCutASingleOutlier) {
  torch::manual_seed(0);
  auto x = torch::randn({100000}).abs();
  x[0] = 60.0f;
  for (const std::string kind : {"histogram", "entropy"}) {
    auto o = *MakeObserver({.kind = kind, .percentile = 99.9});
    o->Observe(x.slice(0, 0, 50000));
    o->Observe(x.slice(0, 50000));  // widens nothing: re-binning keeps the counts
    EXPECT_LT(Hi(*o), 20.0) << kind;  // far below the outlier
    EXPECT_GT(Hi(*o), 2.0) << kind;   // but keeps the bulk
    EXPECT_NEAR(o->Range().first, 0.0, 1e-3) << kind;  // non-negative data keeps its floor
  }
  auto p = *MakeObserver({.kind = "histogram", .percentile = 99.9});
  p->Observe(x);
  EXPECT_NEAR(Hi(*p), 3.29, 0.1);  // |N(0,1)| 99.9th percentile
}

TEST(Observers, MseClipsAHeavyTailButNotALoneOutlier) {
  torch::manual_seed(0);
  // Exponential(1): the MSE-optimal 8-bit range sits well inside the max (~11.5).
  const auto expo = -torch::log(torch::rand({100000}));
  auto mse = *MakeObserver({.kind = "mse"});
  mse->Observe(expo);
  const double max = expo.max().item<double>();
  EXPECT_LT(Hi(*mse), 0.95 * max);
  EXPECT_GT(Hi(*mse), 5.0);
  // One outlier among |N(0,1)|: clipping it would cost more than the resolution gained.
  auto x = torch::randn({100000}).abs();
  x[0] = 60.0f;
  auto lone = *MakeObserver({.kind = "mse"});
  lone->Observe(x);
  EXPECT_GT(Hi(*lone), 45.0);
}

TEST(Observers, UnknownKindNamesTheField) {
  const auto r = MakeObserver({.kind = "minmx"}, "grid.observers[1]");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "grid.observers[1]: unknown \"minmx\"; known: minmax, moving_average, histogram, entropy, mse");
}

TEST(Observers, MseWeightRangesNeverWidenAndNeverReconstructWorse) {
  torch::manual_seed(1);
  auto w = torch::randn({4, 4096}).pow(3);  // heavy tails
  const QuantSpec spec{.dtype = torch::kQInt8, .scheme = QScheme::kSymmetric};
  const auto [mins, maxs] = *WeightRanges(w, "minmax", spec);
  const auto [mmins, mmaxs] = *WeightRanges(w, "mse", spec);
  EXPECT_TRUE((mmaxs <= maxs + 1e-6).all().item<bool>());
  EXPECT_TRUE((mmins >= mins - 1e-6).all().item<bool>());
  auto reconstruction_mse = [&](const torch::Tensor& lo, const torch::Tensor& hi) {
    const auto [scales, zps] = ChooseQParamsPerChannel(lo, hi, spec);
    const auto q = at::quantize_per_channel(w, scales, zps, 0, torch::kQInt8);
    return (q.dequantize() - w).pow(2).mean(1);
  };
  const auto minmax_err = reconstruction_mse(mins, maxs), mse_err = reconstruction_mse(mmins, mmaxs);
  EXPECT_TRUE((mse_err <= minmax_err * (1 + 1e-6)).all().item<bool>());
  EXPECT_FALSE(WeightRanges(w, "kl", spec));
}

}  // namespace
}  // namespace qg::quant
