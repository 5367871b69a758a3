#include "core/quant/internal/nhwc_max_pool.h"

#include <ATen/Parallel.h>
#include <ATen/native/Pool.h>
#include <immintrin.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/quant/internal/requantization.h"

namespace qg::quant::internal {
namespace {

// dst[c] = max over the taps of tap[c], for c < channels.
__attribute__((target("avx512f,avx512bw"))) void MaxAvx512(const std::vector<const uint8_t*>& taps, uint8_t* dst,
                                                           int64_t channels) {
  for (int64_t c = 0; c < channels; c += 64) {
    const __mmask64 mask = channels - c >= 64 ? ~__mmask64{0} : (__mmask64{1} << (channels - c)) - 1;
    __m512i acc = _mm512_maskz_loadu_epi8(mask, taps[0] + c);
    for (size_t t = 1; t < taps.size(); ++t) acc = _mm512_max_epu8(acc, _mm512_maskz_loadu_epi8(mask, taps[t] + c));
    _mm512_mask_storeu_epi8(dst + c, mask, acc);
  }
}

void MaxScalar(const std::vector<const uint8_t*>& taps, uint8_t* dst, int64_t channels) {
  std::memcpy(dst, taps[0], static_cast<size_t>(channels));
  for (size_t t = 1; t < taps.size(); ++t) {
    for (int64_t c = 0; c < channels; ++c) dst[c] = std::max(dst[c], taps[t][c]);
  }
}

}  // namespace

bool NhwcMaxPoolTakes(const torch::Tensor& x) {
  return IsPerTensorQuint8(x) && x.dim() == 4 && x.is_contiguous(torch::MemoryFormat::ChannelsLast) && x.size(1) % 64 != 0;
}

torch::Tensor NhwcMaxPool(const torch::Tensor& x, std::array<int64_t, 2> kernel, std::array<int64_t, 2> stride,
                          std::array<int64_t, 2> padding, bool ceil_mode) {
  const int64_t n = x.size(0), channels = x.size(1), height = x.size(2), width = x.size(3);
  const int64_t out_h = at::native::pooling_output_shape<int64_t>(height, kernel[0], padding[0], stride[0], 1, ceil_mode);
  const int64_t out_w = at::native::pooling_output_shape<int64_t>(width, kernel[1], padding[1], stride[1], 1, ceil_mode);
  TORCH_CHECK(out_h > 0 && out_w > 0, "max pool of a ", height, "x", width, " image has no output");
  torch::Tensor out = at::_empty_affine_quantized({n, channels, out_h, out_w}, x.options(), x.q_scale(),
                                                  x.q_zero_point(), torch::MemoryFormat::ChannelsLast);
  const auto* src = reinterpret_cast<const uint8_t*>(x.data_ptr<c10::quint8>());
  auto* dst = reinterpret_cast<uint8_t*>(out.data_ptr<c10::quint8>());
  const auto max = HasAvx512Bw() ? MaxAvx512 : MaxScalar;
  // Output rows over images; each pixel's window clipped to the image (max
  // pooling pads with nothing).
  at::parallel_for(0, n * out_h, 1, [&](int64_t begin, int64_t end) {
    std::vector<const uint8_t*> taps;
    taps.reserve(static_cast<size_t>(kernel[0] * kernel[1]));
    for (int64_t row = begin; row < end; ++row) {
      const int64_t image = row / out_h, oy = row % out_h;
      const int64_t y0 = std::max<int64_t>(oy * stride[0] - padding[0], 0);
      const int64_t y1 = std::min<int64_t>(oy * stride[0] - padding[0] + kernel[0], height);
      for (int64_t ox = 0; ox < out_w; ++ox) {
        const int64_t x0 = std::max<int64_t>(ox * stride[1] - padding[1], 0);
        const int64_t x1 = std::min<int64_t>(ox * stride[1] - padding[1] + kernel[1], width);
        taps.clear();
        for (int64_t y = y0; y < y1; ++y) {
          for (int64_t xx = x0; xx < x1; ++xx) taps.push_back(src + ((image * height + y) * width + xx) * channels);
        }
        max(taps, dst + (row * out_w + ox) * channels, channels);
      }
    }
  });
  return out;
}

}  // namespace qg::quant::internal
