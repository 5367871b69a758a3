#include "core/quant/internal/small_linear.h"

#include <ATen/ATen.h>
#include <immintrin.h>

#include <cmath>
#include <cstring>

namespace qg::quant::internal {
namespace {

constexpr int64_t kBlock = kChannelBlock;
constexpr int64_t kGroup = 4;  // input bytes per VNNI dot product

int64_t Groups(int64_t in_features) { return (in_features + kGroup - 1) / kGroup; }

// The int32 sums of kBlocks blocks of 16 outputs over one input row: one
// broadcast of 4 input bytes feeds kBlocks independent dot products, so the
// accumulators do not wait on each other.
template <int kBlocks>
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni"))) void SumBlocks(const uint8_t* row,
                                                                                  const int8_t* weights,
                                                                                  int64_t groups, __m512i* sums) {
  __m512i acc[kBlocks];
  for (int j = 0; j < kBlocks; ++j) acc[j] = _mm512_setzero_si512();
  for (int64_t g = 0; g < groups; ++g) {
    int32_t bytes;
    std::memcpy(&bytes, row + g * kGroup, sizeof bytes);
    const __m512i x = _mm512_set1_epi32(bytes);
    for (int j = 0; j < kBlocks; ++j) {
      acc[j] = _mm512_dpbusd_epi32(acc[j], x, _mm512_loadu_si512(weights + (j * groups + g) * kBlock * kGroup));
    }
  }
  for (int j = 0; j < kBlocks; ++j) sums[j] = acc[j];
}

__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni"))) void LinearRow(
    const uint8_t* row, uint8_t* out, const SmallLinearWeights& w, int64_t out_features, const Requantization& r,
    bool relu, float zero_point) {
  const int64_t groups = Groups(w.in_features), blocks = ChannelBlocks(out_features);
  const __m512 low = _mm512_set1_ps(relu ? 0.0f : -INFINITY), zp = _mm512_set1_ps(zero_point);
  for (int64_t b = 0; b < blocks;) {
    const int64_t left = blocks - b;
    const int n = left >= 8 ? 8 : left >= 4 ? 4 : left >= 2 ? 2 : 1;
    const int8_t* weights = w.packed.data() + b * groups * kBlock * kGroup;
    __m512i sums[8];
    switch (n) {
      case 8: SumBlocks<8>(row, weights, groups, sums); break;
      case 4: SumBlocks<4>(row, weights, groups, sums); break;
      case 2: SumBlocks<2>(row, weights, groups, sums); break;
      default: SumBlocks<1>(row, weights, groups, sums); break;
    }
    for (int j = 0; j < n; ++j, ++b) {
      const __m128i bytes = RequantizeBlock(sums[j], r, b * kBlock, low, zp);
      const int64_t valid = std::min(kBlock, out_features - b * kBlock);
      _mm_mask_storeu_epi8(out + b * kBlock, static_cast<__mmask16>((1u << valid) - 1), bytes);
    }
  }
}

// vpdpbusd without VNNI, as oneDNN computes it there: 4 u8 x s8 products per
// int32 lane, pairs added in int16 first (vpmaddubsw), so exact only for
// weights within +-64 (FitsU8S8Pairs).
__attribute__((target("avx2"))) inline __m256i Dot4Avx2(__m256i u8, __m256i s8) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u8, s8), _mm256_set1_epi16(1));
}

// SumBlocks and LinearRow without VNNI: 8 outputs per ymm, two ymm per
// block of 16.
template <int kBlocks>
__attribute__((target("avx2"))) void SumBlocksAvx2(const uint8_t* row, const int8_t* weights, int64_t groups,
                                                   __m256i* sums) {
  __m256i acc[2 * kBlocks];
  for (int j = 0; j < 2 * kBlocks; ++j) acc[j] = _mm256_setzero_si256();
  for (int64_t g = 0; g < groups; ++g) {
    int32_t bytes;
    std::memcpy(&bytes, row + g * kGroup, sizeof bytes);
    const __m256i x = _mm256_set1_epi32(bytes);
    for (int j = 0; j < 2 * kBlocks; ++j) {
      const auto* w = reinterpret_cast<const __m256i*>(weights + ((j / 2) * groups + g) * kBlock * kGroup + (j % 2) * 32);
      acc[j] = _mm256_add_epi32(acc[j], Dot4Avx2(x, _mm256_loadu_si256(w)));
    }
  }
  for (int j = 0; j < 2 * kBlocks; ++j) sums[j] = acc[j];
}

__attribute__((target("avx2"))) void LinearRowAvx2(const uint8_t* row, uint8_t* out, const SmallLinearWeights& w,
                                                   int64_t out_features, const Requantization& r, bool relu,
                                                   float zero_point) {
  const int64_t groups = Groups(w.in_features), blocks = ChannelBlocks(out_features);
  const __m256 low = _mm256_set1_ps(relu ? 0.0f : -INFINITY), zp = _mm256_set1_ps(zero_point);
  for (int64_t b = 0; b < blocks;) {
    const int64_t left = blocks - b;
    const int n = left >= 4 ? 4 : left >= 2 ? 2 : 1;
    const int8_t* weights = w.packed.data() + b * groups * kBlock * kGroup;
    __m256i sums[8];
    switch (n) {
      case 4: SumBlocksAvx2<4>(row, weights, groups, sums); break;
      case 2: SumBlocksAvx2<2>(row, weights, groups, sums); break;
      default: SumBlocksAvx2<1>(row, weights, groups, sums); break;
    }
    for (int j = 0; j < n; ++j, ++b) {
      alignas(16) uint8_t bytes[kBlock];
      _mm_store_si128(reinterpret_cast<__m128i*>(bytes),
                      RequantizeBlockAvx2(sums[2 * j], sums[2 * j + 1], r, b * kBlock, low, zp));
      std::memcpy(out + b * kBlock, bytes, static_cast<size_t>(std::min(kBlock, out_features - b * kBlock)));
    }
  }
}

}  // namespace

bool SmallLinearFits(const Step& s) {
  return s.kind == StepKind::kLinear && s.qweight.defined() && s.qweight.dim() == 2 && IsSymmetricQInt8(s.qweight);
}

SmallLinearWeights PrepareSmallLinear(const torch::Tensor& q, const torch::Tensor& bias) {
  const int64_t out_features = q.size(0), in_features = q.size(1);
  const int64_t groups = Groups(in_features), blocks = ChannelBlocks(out_features);
  const auto weight = q.int_repr().contiguous();
  const auto* v = weight.data_ptr<int8_t>();
  std::vector<int8_t> packed(static_cast<size_t>(blocks * groups * kBlock * kGroup), 0);
  for (int64_t o = 0; o < out_features; ++o) {
    for (int64_t i = 0; i < in_features; ++i) {
      packed[static_cast<size_t>((((o / kBlock) * groups + i / kGroup) * kBlock + o % kBlock) * kGroup + i % kGroup)] =
          v[o * in_features + i];
    }
  }
  return {in_features, std::move(packed), Requantizer(q, bias), FitsU8S8Pairs(q)};
}

bool SmallLinearRunsOnThisCpu(const Step& linear) {
  return HasAvx512Vnni() || (HasAvx2() && FitsU8S8Pairs(linear.qweight));
}

bool SmallLinearTakes(const torch::Tensor& x, int64_t in_features, int64_t out_features) {
  return x.is_quantized() && x.scalar_type() == torch::kQUInt8 && x.qscheme() == torch::kPerTensorAffine &&
         x.dim() == 2 && x.size(1) == in_features && x.is_contiguous() && x.size(0) <= kSmallLinearMaxRows &&
         x.size(0) * in_features * out_features <= kSmallLinearMultiplyAdds;
}

torch::Tensor SmallLinear(const torch::Tensor& x, const SmallLinearWeights& w, bool relu, double scale,
                          int64_t zero_point) {
  const bool vnni = HasAvx512Vnni();
  TORCH_CHECK(vnni || (HasAvx2() && w.fits_u8s8_pairs),
              "the small-batch linear needs AVX-512 VNNI, or AVX2 and weights within +-64");
  const int64_t rows = x.size(0), out_features = w.requantizer.channels();
  TORCH_CHECK(SmallLinearTakes(x, w.in_features, out_features),
              "the small-batch linear needs a contiguous quint8 matrix of at most ", kSmallLinearMaxRows, " rows of ",
              w.in_features, " and at most ", kSmallLinearMultiplyAdds, " multiply-adds, got ", x.sizes(), " for ",
              out_features, " outputs");
  torch::Tensor out = at::_empty_affine_quantized({rows, out_features}, x.options(), scale, zero_point);
  const auto r = w.requantizer.For(x.q_scale(), x.q_zero_point(), scale);
  const auto* in = reinterpret_cast<const uint8_t*>(x.data_ptr<c10::quint8>());
  auto* dst = reinterpret_cast<uint8_t*>(out.data_ptr<c10::quint8>());
  // The last group of 4 reads past a row whose length is not a multiple of
  // 4: such rows are copied, padded with zeros (their weights are 0).
  const int64_t padded = Groups(w.in_features) * kGroup;
  std::vector<uint8_t> row;
  if (padded != w.in_features) row.assign(static_cast<size_t>(padded), 0);
  for (int64_t n = 0; n < rows; ++n) {
    const uint8_t* src = in + n * w.in_features;
    if (padded != w.in_features) src = static_cast<const uint8_t*>(std::memcpy(row.data(), src, w.in_features));
    (vnni ? LinearRow : LinearRowAvx2)(src, dst + n * out_features, w, out_features, *r, relu,
                                       static_cast<float>(zero_point));
  }
  return out;
}

}  // namespace qg::quant::internal
