#include "core/quant/internal/conv_pool.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <immintrin.h>

#include <cmath>
#include <cstring>

// at::parallel_for below splits its range only in a file compiled with
// OpenMP (every TORCH target is: cmake/QuantgridHelpers.cmake).
#ifndef _OPENMP
#error "compile with OpenMP, or at::parallel_for runs on the calling thread alone"
#endif

namespace qg::quant::internal {
namespace {

constexpr int64_t kBlock = kChannelBlock;
constexpr int64_t kRowSlack = 4;

struct Geometry {
  int64_t n, h, w, pad, pooled_h, pooled_w, channels;
};

// Pooled rows [begin, end) (image-major). Each conv output pixel is three
// VNNI dot products per 16 channels: a kernel row's 3 taps and a 0 against
// 4 image bytes broadcast to every lane. The four sums of a pool window meet
// in a max before anything is requantized.
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni"))) void PoolRows(
    const uint8_t* images, uint8_t* out, const Geometry& g, const ConvPoolWeights& w, const Requantization& r,
    bool relu, float zero_point, uint8_t input_zero_point, int64_t begin, int64_t end) {
  const int64_t row_bytes = g.w + 2 * g.pad + kRowSlack;
  std::vector<uint8_t> rows(static_cast<size_t>(4 * row_bytes));
  const int64_t blocks = g.channels / kBlock;
  const __m512 low = _mm512_set1_ps(relu ? 0.0f : -INFINITY), zp = _mm512_set1_ps(zero_point);
  for (int64_t u = begin; u < end; ++u) {
    const int64_t image = u / g.pooled_h, pooled_row = u % g.pooled_h;
    // The 4 padded input rows under this pooled row's two conv rows.
    for (int64_t k = 0; k < 4; ++k) {
      uint8_t* row = rows.data() + k * row_bytes;
      std::memset(row, input_zero_point, static_cast<size_t>(row_bytes));
      const int64_t ih = 2 * pooled_row + k - g.pad;
      if (ih >= 0 && ih < g.h) std::memcpy(row + g.pad, images + (image * g.h + ih) * g.w, static_cast<size_t>(g.w));
    }
    uint8_t* dst = out + u * g.pooled_w * g.channels;
    for (int64_t pc = 0; pc < g.pooled_w; ++pc) {
      __m512i pixels[4][2];  // padded row k, conv column 2 pc + j: 4 bytes in every lane
      for (int k = 0; k < 4; ++k) {
        for (int j = 0; j < 2; ++j) {
          int32_t bytes;
          std::memcpy(&bytes, rows.data() + k * row_bytes + 2 * pc + j, sizeof bytes);
          pixels[k][j] = _mm512_set1_epi32(bytes);
        }
      }
      for (int64_t b = 0; b < blocks; ++b) {
        const int8_t* taps = w.taps.data() + b * 3 * kBlock * 4;
        const __m512i t0 = _mm512_loadu_si512(taps), t1 = _mm512_loadu_si512(taps + 64),
                      t2 = _mm512_loadu_si512(taps + 128);
        __m512i best = _mm512_set1_epi32(INT32_MIN);
        for (int i = 0; i < 2; ++i) {
          for (int j = 0; j < 2; ++j) {
            __m512i sum = _mm512_dpbusd_epi32(_mm512_setzero_si512(), pixels[i][j], t0);
            sum = _mm512_dpbusd_epi32(sum, pixels[i + 1][j], t1);
            sum = _mm512_dpbusd_epi32(sum, pixels[i + 2][j], t2);
            best = _mm512_max_epi32(best, sum);
          }
        }
        _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + pc * g.channels + b * kBlock),
                         RequantizeBlock(best, r, b * kBlock, low, zp));
      }
    }
  }
}

}  // namespace

bool ConvPoolFits(const Step& conv) {
  return IsSingleChannel3x3Conv(conv) && IsSymmetricQInt8(conv.qweight) && conv.qweight.size(0) % kBlock == 0;
}

ConvPoolWeights PrepareConvPool(const torch::Tensor& q, const torch::Tensor& bias) {
  const int64_t channels = q.size(0);
  const auto kernel = q.int_repr().contiguous().view({channels, 3, 3});
  const auto* t = kernel.data_ptr<int8_t>();
  std::vector<int8_t> taps(static_cast<size_t>(channels * 3 * 4), 0);
  for (int64_t c = 0; c < channels; ++c) {
    for (int64_t row = 0; row < 3; ++row) {
      for (int64_t col = 0; col < 3; ++col) {
        taps[static_cast<size_t>((((c / kBlock) * 3 + row) * kBlock + c % kBlock) * 4 + col)] =
            t[(c * 3 + row) * 3 + col];
      }
    }
  }
  return {std::move(taps), Requantizer(q, bias)};
}

torch::Tensor ConvPool(const torch::Tensor& x, const ConvPoolWeights& w, int64_t pad, bool relu, double scale,
                       int64_t zero_point) {
  TORCH_CHECK(HasAvx512Vnni(), "the fused conv and pool need AVX-512 VNNI");
  TORCH_CHECK(x.is_quantized() && x.scalar_type() == torch::kQUInt8 && x.dim() == 4 && x.size(1) == 1,
              "the fused conv and pool need a quint8 N x 1 x H x W image, got ", x.sizes());
  const int64_t conv_h = x.size(2) + 2 * pad - 2, conv_w = x.size(3) + 2 * pad - 2;
  TORCH_CHECK(conv_h >= 2 && conv_w >= 2, "image ", x.size(2), "x", x.size(3), " is too small to conv and pool");
  const Geometry g{x.size(0), x.size(2), x.size(3), pad, conv_h / 2, conv_w / 2, w.requantizer.channels()};
  // For C = 1, NCHW and NHWC hold the same bytes.
  const torch::Tensor in = x.is_contiguous() || x.is_contiguous(c10::MemoryFormat::ChannelsLast) ? x : x.contiguous();
  torch::Tensor out = at::_empty_affine_quantized({g.n, g.channels, g.pooled_h, g.pooled_w}, x.options(), scale,
                                                  zero_point, c10::MemoryFormat::ChannelsLast);
  const auto r = w.requantizer.For(x.q_scale(), x.q_zero_point(), scale);
  const auto* images = reinterpret_cast<const uint8_t*>(in.data_ptr<c10::quint8>());
  auto* dst = reinterpret_cast<uint8_t*>(out.data_ptr<c10::quint8>());
  const auto input_zero_point = static_cast<uint8_t>(x.q_zero_point());
  // A pooled row is ~0.2 us: a batch of one stays on this thread.
  at::parallel_for(0, g.n * g.pooled_h, 64, [&](int64_t begin, int64_t end) {
    PoolRows(images, dst, g, w, *r, relu, static_cast<float>(zero_point), input_zero_point, begin, end);
  });
  return out;
}

}  // namespace qg::quant::internal
