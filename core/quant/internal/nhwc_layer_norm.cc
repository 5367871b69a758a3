#include "core/quant/internal/nhwc_layer_norm.h"

#include <ATen/Parallel.h>
#include <immintrin.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "core/quant/internal/requantization.h"

namespace qg::quant::internal {
namespace {

struct Constants {
  const float* weight;
  const float* bias;
  int64_t channels;
  float in_scale, in_zero_point;
  double eps;
  float out_inverse_scale, out_zero_point;
};

// Up to 16 bytes as int32 lanes, the rest zero (AVX-512 BW, no VL needed).
__attribute__((target("avx512f,avx512bw"))) inline __m512i Bytes(__mmask16 m, const uint8_t* p) {
  return _mm512_cvtepu8_epi32(_mm512_castsi512_si128(_mm512_maskz_loadu_epi8(static_cast<__mmask64>(m), p)));
}

// The lanes of the 16 channels from `remaining` on that exist.
inline __mmask16 ChannelMask(int64_t remaining) {
  return remaining >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << remaining) - 1);
}

// The sum of 16 int32 lanes (not _mm512_reduce_add_epi32, whose inlined
// header code GCC 12 warns about with -Wuninitialized).
__attribute__((target("avx512f"))) inline int64_t LaneSum(__m512i v) {
  alignas(64) int32_t lanes[16];
  _mm512_store_si512(lanes, v);
  int64_t total = 0;
  for (int32_t lane : lanes) total += lane;
  return total;
}

// One pixel's channels. The order of operations is the kernel's (see the header).
__attribute__((target("avx512f,avx512bw,fma"))) void Pixel(const uint8_t* in, uint8_t* out, const Constants& k) {
  const int64_t n = k.channels;
  __m512i sum = _mm512_setzero_si512(), sum_sq = _mm512_setzero_si512();
  for (int64_t c = 0; c < n; c += 16) {
    const __mmask16 m = ChannelMask(n - c);
    const __m512i v = Bytes(m, in + c);
    sum = _mm512_add_epi32(sum, v);
    sum_sq = _mm512_add_epi32(sum_sq, _mm512_mullo_epi32(v, v));  // 16 lanes: exact below 2^31 / 255^2 * 16 channels
  }
  const float mean_shifted = static_cast<float>(LaneSum(sum)) / static_cast<float>(n);
  const float mean = mean_shifted - k.in_zero_point;
  const float mean_sq = static_cast<float>(LaneSum(sum_sq)) / static_cast<float>(n);
  const float var = std::max(std::fma(-mean_shifted, mean_shifted, mean_sq), 0.0f);
  const float var_scaled = var * k.in_scale * k.in_scale;
  const float factor = static_cast<float>(k.in_scale / std::sqrt(static_cast<double>(var_scaled) + k.eps));
  const __m512 zp = _mm512_set1_ps(k.in_zero_point), mean_v = _mm512_set1_ps(mean), factor_v = _mm512_set1_ps(factor);
  const __m512 inverse = _mm512_set1_ps(k.out_inverse_scale), out_zp = _mm512_set1_ps(k.out_zero_point);
  const __m512 low = _mm512_set1_ps(0.0f), high = _mm512_set1_ps(255.0f);
  for (int64_t c = 0; c < n; c += 16) {
    const __mmask16 m = ChannelMask(n - c);
    const __m512 q = _mm512_cvtepi32_ps(Bytes(m, in + c));
    const __m512 t = _mm512_mul_ps(_mm512_sub_ps(_mm512_sub_ps(q, zp), mean_v), factor_v);
    const __m512 y = _mm512_fmadd_ps(t, _mm512_maskz_loadu_ps(m, k.weight + c), _mm512_maskz_loadu_ps(m, k.bias + c));
    // nearbyint(y / scale) + zp, clamped: rounding in the default mode, to nearest even.
    const __m512 rounded =
        _mm512_roundscale_ps(_mm512_mul_ps(y, inverse), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m512 value = _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(rounded, out_zp), low), high);
    _mm512_mask_cvtusepi32_storeu_epi8(out + c, m, _mm512_cvtps_epi32(value));
  }
}

}  // namespace

bool NhwcLayerNormTakes(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  auto fits = [&](const torch::Tensor& t) {
    return t.defined() && t.scalar_type() == torch::kFloat && t.is_contiguous() && t.numel() == x.size(1);
  };
  return HasAvx512Bw() && IsPerTensorQuint8(x) && x.dim() == 4 && x.is_contiguous(torch::MemoryFormat::ChannelsLast) &&
         x.size(1) > 0 && fits(weight) && fits(bias);
}

torch::Tensor NhwcLayerNorm(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias, double eps,
                            const QParams& out) {
  const int64_t channels = x.size(1), pixels = x.numel() / std::max<int64_t>(channels, 1);
  const Constants k{.weight = weight.data_ptr<float>(),
                    .bias = bias.data_ptr<float>(),
                    .channels = channels,
                    .in_scale = static_cast<float>(x.q_scale()),
                    .in_zero_point = static_cast<float>(x.q_zero_point()),
                    .eps = eps,
                    .out_inverse_scale = 1.0f / static_cast<float>(out.scale),
                    .out_zero_point = static_cast<float>(out.zero_point)};
  torch::Tensor y =
      at::_empty_affine_quantized(x.sizes(), x.options(), out.scale, out.zero_point, torch::MemoryFormat::ChannelsLast);
  const auto* src = reinterpret_cast<const uint8_t*>(x.data_ptr<c10::quint8>());
  auto* dst = reinterpret_cast<uint8_t*>(y.data_ptr<c10::quint8>());
  const int64_t grain = std::max<int64_t>(1, (1 << 14) / channels);
  at::parallel_for(0, pixels, grain, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) Pixel(src + p * channels, dst + p * channels, k);
  });
  return y;
}

}  // namespace qg::quant::internal
