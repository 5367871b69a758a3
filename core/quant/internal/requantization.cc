#include "core/quant/internal/requantization.h"

#include <ATen/ATen.h>

namespace qg::quant::internal {

bool HasAvx512Vnni() {
  static const bool supported = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                                __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
  return supported;
}

bool HasAvx2() {
  static const bool supported = __builtin_cpu_supports("avx2");
  return supported;
}

bool HasAvx512Bw() {
  static const bool supported = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
  return supported;
}

bool HasAvx512Vbmi() {
  static const bool supported = HasAvx512Bw() && __builtin_cpu_supports("avx512vbmi");
  return supported;
}

bool IsPerTensorQuint8(const torch::Tensor& x) {
  return x.defined() && x.is_quantized() && x.scalar_type() == torch::kQUInt8 &&
         x.qscheme() == torch::kPerTensorAffine;
}

bool FitsU8S8Pairs(const torch::Tensor& q) {
  return q.defined() && q.is_quantized() && q.scalar_type() == torch::kQInt8 &&
         q.int_repr().to(torch::kInt32).abs().max().item<int32_t>() <= 64;
}

bool IsSymmetricQInt8(const torch::Tensor& q) {
  if (!q.defined() || !q.is_quantized() || q.scalar_type() != torch::kQInt8) return false;
  switch (q.qscheme()) {
    case torch::kPerTensorAffine: return q.q_zero_point() == 0;
    case torch::kPerChannelAffine:
      return q.q_per_channel_axis() == 0 && q.q_per_channel_zero_points().eq(0).all().item<bool>();
    default: return false;
  }
}

Requantizer::Requantizer(const torch::Tensor& q, const torch::Tensor& bias) {
  TORCH_CHECK(IsSymmetricQInt8(q), "requantizing like oneDNN needs a symmetric qint8 weight");
  const int64_t channels = q.size(0);
  const auto sums = q.int_repr().reshape({channels, -1}).to(torch::kInt32).sum(1, false, torch::kInt32).contiguous();
  weight_sums_.assign(sums.data_ptr<int32_t>(), sums.data_ptr<int32_t>() + channels);
  // As LibTorch's onednn prepack inverts them: a per-tensor scale in double,
  // per-channel scales in float (1.0f / scale.item<float>()). The two differ
  // in the last bit for some scales, which moves an output that lands on .5.
  if (q.qscheme() == torch::kPerChannelAffine) {
    const auto scales = q.q_per_channel_scales().to(torch::kFloat).contiguous();
    for (int64_t c = 0; c < channels; ++c) weight_inverse_.push_back(1.0f / scales.data_ptr<float>()[c]);
  } else {
    weight_inverse_.assign(static_cast<size_t>(channels), static_cast<float>(1.0 / q.q_scale()));
  }
  if (bias.defined()) {
    const auto b = bias.to(torch::kFloat).contiguous();
    bias_.assign(b.data_ptr<float>(), b.data_ptr<float>() + channels);
  } else {
    bias_.assign(static_cast<size_t>(channels), 0.0f);
  }
}

Requantizer::Requantizer(Requantizer&& other) noexcept
    : weight_sums_(std::move(other.weight_sums_)),
      weight_inverse_(std::move(other.weight_inverse_)),
      bias_(std::move(other.bias_)) {}

std::shared_ptr<const Requantization> Requantizer::For(double input_scale, int64_t input_zero_point,
                                                       double output_scale) const {
  std::lock_guard lock(mu_);
  if (last_ && input_scale == input_scale_ && input_zero_point == input_zero_point_ && output_scale == output_scale_) {
    return last_;
  }
  auto r = std::make_shared<Requantization>();
  const auto padded = static_cast<size_t>(ChannelBlocks(channels()) * kChannelBlock);
  r->offset.assign(padded, 0);
  r->bias.assign(padded, 0.0f);
  r->scale.assign(padded, 0.0f);
  const float input_inverse = static_cast<float>(1.0 / input_scale);
  const float output_inverse = static_cast<float>(1.0 / output_scale);
  for (size_t c = 0; c < weight_sums_.size(); ++c) {
    const float sum_scale = input_inverse * weight_inverse_[c];
    r->offset[c] = -static_cast<int32_t>(input_zero_point) * weight_sums_[c];
    r->bias[c] = bias_[c] * sum_scale;
    r->scale[c] = output_inverse / sum_scale;
  }
  input_scale_ = input_scale, input_zero_point_ = input_zero_point, output_scale_ = output_scale;
  last_ = std::move(r);
  return last_;
}

}  // namespace qg::quant::internal
