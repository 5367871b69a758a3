#include "core/quant/internal/channel_mul.h"

#include <ATen/Parallel.h>
#include <immintrin.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/quant/internal/requantization.h"

namespace qg::quant::internal {
namespace {

inline uint8_t Requantize(int32_t product, float multiplier, int32_t zero_point) {
  const long q = zero_point + std::lrintf(static_cast<float>(product) * multiplier);
  return static_cast<uint8_t>(std::clamp<long>(q, 0, 255));
}

// One pixel's C channels: 16 at a time, then the rest one by one.
__attribute__((target("avx512f,avx512bw"))) void PixelAvx512(const uint8_t* in, uint8_t* out, const int32_t* factors,
                                                             int64_t channels, int32_t in_zero_point,
                                                             float multiplier, int32_t zero_point) {
  const __m512i in_zp = _mm512_set1_epi32(in_zero_point), out_zp = _mm512_set1_epi32(zero_point);
  const __m512 mult = _mm512_set1_ps(multiplier);
  int64_t c = 0;
  for (; c + 16 <= channels; c += 16) {
    const __m512i x = _mm512_sub_epi32(_mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + c))), in_zp);
    const __m512i product = _mm512_mullo_epi32(x, _mm512_loadu_si512(factors + c));
    // cvtps_epi32 rounds to nearest even, as lrintf does.
    __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(_mm512_cvtepi32_ps(product), mult)), out_zp);
    q = _mm512_max_epi32(q, _mm512_setzero_si512());
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + c), _mm512_cvtusepi32_epi8(q));
  }
  for (; c < channels; ++c) out[c] = Requantize((in[c] - in_zero_point) * factors[c], multiplier, zero_point);
}

void PixelScalar(const uint8_t* in, uint8_t* out, const int32_t* factors, int64_t channels, int32_t in_zero_point,
                 float multiplier, int32_t zero_point) {
  for (int64_t c = 0; c < channels; ++c) out[c] = Requantize((in[c] - in_zero_point) * factors[c], multiplier, zero_point);
}

}  // namespace

bool ChannelMulTakes(const torch::Tensor& image, const torch::Tensor& gate) {
  return IsPerTensorQuint8(image) && IsPerTensorQuint8(gate) && image.dim() == 4 && gate.dim() == 4 &&
         image.is_contiguous(torch::MemoryFormat::ChannelsLast) && gate.size(0) == image.size(0) &&
         gate.size(1) == image.size(1) && gate.size(2) == 1 && gate.size(3) == 1;
}

torch::Tensor ChannelMul(const torch::Tensor& image, const torch::Tensor& gate, double scale, int64_t zero_point) {
  const int64_t n = image.size(0), channels = image.size(1), pixels = image.size(2) * image.size(3);
  // As qmul_kernel computes it: float scales, the output's inverted in float.
  const float multiplier = static_cast<float>(image.q_scale()) * static_cast<float>(gate.q_scale()) *
                           (1.0f / static_cast<float>(scale));
  const auto gate_bytes = gate.int_repr().reshape({n * channels}).to(torch::kInt32).contiguous();
  std::vector<int32_t> factors(static_cast<size_t>(n * channels));
  const int32_t gate_zero_point = static_cast<int32_t>(gate.q_zero_point());
  for (int64_t i = 0; i < n * channels; ++i) factors[i] = gate_bytes.data_ptr<int32_t>()[i] - gate_zero_point;

  torch::Tensor out = at::_empty_affine_quantized(image.sizes(), image.options(), scale, zero_point,
                                                  torch::MemoryFormat::ChannelsLast);
  const auto* src = reinterpret_cast<const uint8_t*>(image.data_ptr<c10::quint8>());
  auto* dst = reinterpret_cast<uint8_t*>(out.data_ptr<c10::quint8>());
  const int32_t in_zero_point = static_cast<int32_t>(image.q_zero_point());
  const int32_t out_zero_point = static_cast<int32_t>(zero_point);
  const auto pixel = HasAvx512Bw() ? PixelAvx512 : PixelScalar;
  // Rows of pixels over images: one image's pixels all read its own factors.
  const int64_t grain = std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(1, channels));
  at::parallel_for(0, n * pixels, grain, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      const int64_t offset = p * channels;
      pixel(src + offset, dst + offset, factors.data() + (p / pixels) * channels, channels, in_zero_point,
            multiplier, out_zero_point);
    }
  });
  return out;
}

}  // namespace qg::quant::internal
