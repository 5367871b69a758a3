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

// The 4 padded input rows under pooled row `u`'s two conv rows, each
// `row_bytes` long, the zero point (real 0) outside the image.
void CopyPaddedRows(const uint8_t* images, const Geometry& g, int64_t u, uint8_t input_zero_point,
                    int64_t row_bytes, uint8_t* rows) {
  const int64_t image = u / g.pooled_h, pooled_row = u % g.pooled_h;
  for (int64_t k = 0; k < 4; ++k) {
    uint8_t* row = rows + k * row_bytes;
    std::memset(row, input_zero_point, static_cast<size_t>(row_bytes));
    const int64_t ih = 2 * pooled_row + k - g.pad;
    if (ih >= 0 && ih < g.h) std::memcpy(row + g.pad, images + (image * g.h + ih) * g.w, static_cast<size_t>(g.w));
  }
}

// Padded row k's bytes from conv column `column` on: a kernel row's 3 taps
// and the next byte, which meets a zero weight.
int32_t FourBytes(const uint8_t* rows, int64_t row_bytes, int k, int64_t column) {
  int32_t bytes;
  std::memcpy(&bytes, rows + k * row_bytes + column, sizeof bytes);
  return bytes;
}

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
    CopyPaddedRows(images, g, u, input_zero_point, row_bytes, rows.data());
    uint8_t* dst = out + u * g.pooled_w * g.channels;
    for (int64_t pc = 0; pc < g.pooled_w; ++pc) {
      __m512i pixels[4][2];  // padded row k, conv column 2 pc + j: 4 bytes in every lane
      for (int k = 0; k < 4; ++k) {
        for (int j = 0; j < 2; ++j) pixels[k][j] = _mm512_set1_epi32(FourBytes(rows.data(), row_bytes, k, 2 * pc + j));
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

// PoolRows for AVX2, with 8-bit weights within +-64 (FitsU8S8Pairs): per
// kernel row, vpmaddubsw adds a row's first two u8 x s8 products into int16
// and its third to 0 x the zero tap, vpmaddwd widens the pairs' sum to
// int32, 8 channels per ymm.
__attribute__((target("avx2,fma"))) void PoolRowsAvx2(const uint8_t* images, uint8_t* out, const Geometry& g,
                                                     const ConvPoolWeights& w, const Requantization& r, bool relu,
                                                     float zero_point, uint8_t input_zero_point, int64_t begin,
                                                     int64_t end) {
  const int64_t row_bytes = g.w + 2 * g.pad + kRowSlack;
  std::vector<uint8_t> rows(static_cast<size_t>(4 * row_bytes));
  const int64_t blocks = g.channels / kBlock;
  const __m256 low = _mm256_set1_ps(relu ? 0.0f : -INFINITY), zp = _mm256_set1_ps(zero_point);
  const __m256i ones = _mm256_set1_epi16(1);
  for (int64_t u = begin; u < end; ++u) {
    CopyPaddedRows(images, g, u, input_zero_point, row_bytes, rows.data());
    uint8_t* dst = out + u * g.pooled_w * g.channels;
    for (int64_t pc = 0; pc < g.pooled_w; ++pc) {
      __m256i pixels[4][2];
      for (int k = 0; k < 4; ++k) {
        for (int j = 0; j < 2; ++j) pixels[k][j] = _mm256_set1_epi32(FourBytes(rows.data(), row_bytes, k, 2 * pc + j));
      }
      for (int64_t b = 0; b < blocks; ++b) {
        const int8_t* taps = w.taps.data() + b * 3 * kBlock * 4;
        __m256i best[2];
        for (int half = 0; half < 2; ++half) {
          const auto* at = reinterpret_cast<const __m256i*>(taps + half * 32);  // row k at at + 2 k
          const __m256i t0 = _mm256_loadu_si256(at), t1 = _mm256_loadu_si256(at + 2), t2 = _mm256_loadu_si256(at + 4);
          best[half] = _mm256_set1_epi32(INT32_MIN);
          for (int i = 0; i < 2; ++i) {
            for (int j = 0; j < 2; ++j) {
              __m256i sum = _mm256_madd_epi16(_mm256_maddubs_epi16(pixels[i][j], t0), ones);
              sum = _mm256_add_epi32(sum, _mm256_madd_epi16(_mm256_maddubs_epi16(pixels[i + 1][j], t1), ones));
              sum = _mm256_add_epi32(sum, _mm256_madd_epi16(_mm256_maddubs_epi16(pixels[i + 2][j], t2), ones));
              best[half] = _mm256_max_epi32(best[half], sum);
            }
          }
        }
        _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + pc * g.channels + b * kBlock),
                         RequantizeBlockAvx2(best[0], best[1], r, b * kBlock, low, zp));
      }
    }
  }
}

}  // namespace

bool ConvPoolFits(const Step& conv) {
  return IsSingleChannel3x3Conv(conv) && IsSymmetricQInt8(conv.qweight) && conv.qweight.size(0) % kBlock == 0;
}

bool ConvPoolRunsOnThisCpu(const Step& conv) {
  return HasAvx512Vnni() || (HasAvx2() && FitsU8S8Pairs(conv.qweight));
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
  return {std::move(taps), Requantizer(q, bias), FitsU8S8Pairs(q)};
}

torch::Tensor ConvPool(const torch::Tensor& x, const ConvPoolWeights& w, int64_t pad, bool relu, double scale,
                       int64_t zero_point) {
  const bool vnni = HasAvx512Vnni();
  TORCH_CHECK(vnni || (HasAvx2() && w.fits_u8s8_pairs),
              "the fused conv and pool need AVX-512 VNNI, or AVX2 and weights within +-64");
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
    (vnni ? PoolRows : PoolRowsAvx2)(images, dst, g, w, *r, relu, static_cast<float>(zero_point), input_zero_point,
                                     begin, end);
  });
  return out;
}

}  // namespace qg::quant::internal
