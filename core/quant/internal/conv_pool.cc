#include "core/quant/internal/conv_pool.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <immintrin.h>

#include <cmath>
#include <cstring>

namespace qg::quant::internal {
namespace {

constexpr int64_t kBlock = 16;  // channels per zmm of int32 sums
constexpr int64_t kRowSlack = 4;

struct Geometry {
  int64_t n, h, w, pad, pooled_h, pooled_w, channels;
};

// Per channel, what turns the window's largest int32 sum into an output byte,
// computed the way oneDNN computes it (LibTorch 1.13 hands it reciprocal
// scales in float, and the float bias scaled to the sums' units, unrounded):
// ((sum + offset) + bias) * scale, in float, then the zero point, rounded.
struct Requantization {
  std::vector<int32_t> offset;  // minus the input zero point times the taps' sum
  std::vector<float> bias;
  std::vector<float> scale;
};

Requantization RequantizationFor(const ConvPoolWeights& w, double input_scale, int64_t input_zero_point,
                                 double output_scale) {
  Requantization r;
  const float input_inverse = static_cast<float>(1.0 / input_scale);
  const float output_inverse = static_cast<float>(1.0 / output_scale);
  for (int64_t c = 0; c < w.channels; ++c) {
    const float sum_scale = input_inverse * w.weight_inverse[c];
    r.offset.push_back(-static_cast<int32_t>(input_zero_point) * w.tap_sums[c]);
    r.bias.push_back(w.bias[c] * sum_scale);
    r.scale.push_back(output_inverse / sum_scale);
  }
  return r;
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
  const __m512 byte_min = _mm512_setzero_ps(), byte_max = _mm512_set1_ps(255.0f);
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
        best = _mm512_add_epi32(best, _mm512_loadu_si512(r.offset.data() + b * kBlock));
        __m512 y = _mm512_add_ps(_mm512_cvtepi32_ps(best), _mm512_loadu_ps(r.bias.data() + b * kBlock));
        y = _mm512_mul_ps(y, _mm512_loadu_ps(r.scale.data() + b * kBlock));
        y = _mm512_add_ps(_mm512_max_ps(y, low), zp);
        y = _mm512_min_ps(_mm512_max_ps(y, byte_min), byte_max);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + pc * g.channels + b * kBlock),
                         _mm512_cvtusepi32_epi8(_mm512_cvtps_epi32(y)));
      }
    }
  }
}

}  // namespace

bool FastConvPoolSupported() {
  static const bool supported = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                                __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
  return supported;
}

bool ConvPoolFits(const Step& conv) {
  if (!IsSingleChannel3x3Conv(conv)) return false;
  const torch::Tensor& q = conv.qweight;
  if (!q.is_quantized() || q.scalar_type() != torch::kQInt8 || q.size(0) % kBlock != 0) return false;
  switch (q.qscheme()) {
    case torch::kPerTensorAffine: return q.q_zero_point() == 0;
    case torch::kPerChannelAffine: return q.q_per_channel_zero_points().eq(0).all().item<bool>();
    default: return false;
  }
}

ConvPoolWeights PrepareConvPool(const torch::Tensor& q, const torch::Tensor& bias) {
  ConvPoolWeights w;
  w.channels = q.size(0);
  const auto taps = q.int_repr().contiguous().view({w.channels, 3, 3});
  const auto* t = taps.data_ptr<int8_t>();
  w.taps.assign(static_cast<size_t>(w.channels * 3 * 4), 0);
  for (int64_t c = 0; c < w.channels; ++c) {
    int32_t sum = 0;
    for (int64_t row = 0; row < 3; ++row) {
      for (int64_t col = 0; col < 3; ++col) {
        const int8_t v = t[(c * 3 + row) * 3 + col];
        w.taps[static_cast<size_t>((((c / kBlock) * 3 + row) * kBlock + c % kBlock) * 4 + col)] = v;
        sum += v;
      }
    }
    w.tap_sums.push_back(sum);
    const double scale = q.qscheme() == torch::kPerChannelAffine ? q.q_per_channel_scales()[c].item<double>()
                                                                  : q.q_scale();
    w.weight_inverse.push_back(static_cast<float>(1.0 / scale));
    w.bias.push_back(bias.defined() ? bias[c].item<float>() : 0.0f);
  }
  return w;
}

torch::Tensor ConvPool(const torch::Tensor& x, const ConvPoolWeights& w, int64_t pad, bool relu, double scale,
                       int64_t zero_point) {
  TORCH_CHECK(FastConvPoolSupported(), "the fused conv and pool need AVX-512 VNNI");
  TORCH_CHECK(x.is_quantized() && x.scalar_type() == torch::kQUInt8 && x.dim() == 4 && x.size(1) == 1,
              "the fused conv and pool need a quint8 N x 1 x H x W image, got ", x.sizes());
  const int64_t conv_h = x.size(2) + 2 * pad - 2, conv_w = x.size(3) + 2 * pad - 2;
  TORCH_CHECK(conv_h >= 2 && conv_w >= 2, "image ", x.size(2), "x", x.size(3), " is too small to conv and pool");
  const Geometry g{x.size(0), x.size(2), x.size(3), pad, conv_h / 2, conv_w / 2, w.channels};
  // For C = 1, NCHW and NHWC hold the same bytes.
  const torch::Tensor in = x.is_contiguous() || x.is_contiguous(c10::MemoryFormat::ChannelsLast) ? x : x.contiguous();
  torch::Tensor out = at::_empty_affine_quantized({g.n, g.channels, g.pooled_h, g.pooled_w}, x.options(), scale,
                                                  zero_point, c10::MemoryFormat::ChannelsLast);
  const Requantization r = RequantizationFor(w, x.q_scale(), x.q_zero_point(), scale);
  const auto* images = reinterpret_cast<const uint8_t*>(in.data_ptr<c10::quint8>());
  auto* dst = reinterpret_cast<uint8_t*>(out.data_ptr<c10::quint8>());
  const auto input_zero_point = static_cast<uint8_t>(x.q_zero_point());
  // A pooled row is ~0.2 us: a batch of one stays on this thread.
  at::parallel_for(0, g.n * g.pooled_h, 64, [&](int64_t begin, int64_t end) {
    PoolRows(images, dst, g, w, r, relu, static_cast<float>(zero_point), input_zero_point, begin, end);
  });
  return out;
}

}  // namespace qg::quant::internal
