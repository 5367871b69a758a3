#include "core/quant/qparams.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace qg::quant {
namespace {
constexpr double kEps = std::numeric_limits<float>::epsilon();
}

int64_t QuantSpec::QuantMin() const {
  if (dtype == torch::kQInt8 && bits < 8) return -(int64_t{1} << (bits - 1));
  if (dtype == torch::kQInt8) return reduce_range ? -64 : -128;
  return 0;
}

int64_t QuantSpec::QuantMax() const {
  if (dtype == torch::kQInt8 && bits < 8) return (int64_t{1} << (bits - 1)) - 1;
  if (dtype == torch::kQInt8) return reduce_range ? 63 : 127;
  return reduce_range ? 127 : 255;
}

QParams ChooseQParams(double min_val, double max_val, const QuantSpec& spec) {
  const double min_neg = std::min(min_val, 0.0);
  const double max_pos = std::max(max_val, 0.0);
  const auto qmin = static_cast<double>(spec.QuantMin());
  const auto qmax = static_cast<double>(spec.QuantMax());
  QParams q;
  if (spec.scheme == QScheme::kSymmetric) {
    const double max_abs = std::max(-min_neg, max_pos);
    q.scale = std::max(max_abs / ((qmax - qmin) / 2.0), kEps);
    q.zero_point = spec.dtype == torch::kQUInt8 ? (spec.reduce_range ? 64 : 128) : 0;
  } else {
    q.scale = std::max((max_pos - min_neg) / (qmax - qmin), kEps);
    const double zp = qmin - std::nearbyint(min_neg / q.scale);
    q.zero_point = static_cast<int64_t>(std::clamp(zp, qmin, qmax));
  }
  return q;
}

std::pair<torch::Tensor, torch::Tensor> ChooseQParamsPerChannel(const torch::Tensor& min_vals,
                                                                const torch::Tensor& max_vals, const QuantSpec& spec) {
  const int64_t c = min_vals.numel();
  auto scales = torch::empty({c}, torch::kDouble);
  auto zps = torch::empty({c}, torch::kLong);
  const auto mins = min_vals.to(torch::kDouble).contiguous();
  const auto maxs = max_vals.to(torch::kDouble).contiguous();
  for (int64_t i = 0; i < c; ++i) {
    const QParams q = ChooseQParams(mins[i].item<double>(), maxs[i].item<double>(), spec);
    scales[i] = q.scale;
    zps[i] = q.zero_point;
  }
  return {scales, zps};
}

Result<QScheme> ParseScheme(const std::string& name, const std::string& field) {
  if (name == "affine") return QScheme::kAffine;
  if (name == "symmetric") return QScheme::kSymmetric;
  return Error::InvalidArgument("{}: unknown scheme \"{}\"; known: affine, symmetric", field, name);
}

}  // namespace qg::quant
