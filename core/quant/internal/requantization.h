// How LibTorch 1.13's onednn engine turns the int32 sums of a quantized conv
// or linear into quint8 outputs, written once for our own VNNI passes
// (conv_pool.h, small_linear.h), which must give oneDNN's bytes exactly.
// LibTorch hands oneDNN reciprocal scales in float and the float bias scaled
// to the sums' units, unrounded; oneDNN computes, in float,
// ((sum - zp_in * sum of weights) + bias) * scale, clamps at 0 for ReLU, adds
// the output zero point and rounds to nearest even. int8_step_test.cc checks
// both passes byte for byte against oneDNN. Internal to core/quant.
#pragma once

#include <immintrin.h>
#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace qg::quant::internal {

constexpr int64_t kChannelBlock = 16;  // output channels per zmm of int32 sums

// Blocks of kChannelBlock that hold `channels`, the last one padded.
constexpr int64_t ChannelBlocks(int64_t channels) { return (channels + kChannelBlock - 1) / kChannelBlock; }

// Whether this CPU has the AVX-512 VNNI our passes are written for.
bool HasAvx512Vnni();

// Without VNNI a pass multiplies as oneDNN does there, with AVX2's
// vpmaddubsw, which adds two u8 x s8 products into int16: exact only while
// no pair can pass 32767, that is for weights within +-64 (2 x 255 x 64 =
// 32640), what strategies quantize to on such CPUs (FitWeightsToEngine).
// Heavier weights stay on oneDNN, which then saturates as it always did.
bool HasAvx2();
// AVX-512 byte work (BW), and byte permutes (VBMI) beside it: the byte
// table, one-pass multiply and narrow max pool passes.
bool HasAvx512Bw();
bool HasAvx512Vbmi();
bool FitsU8S8Pairs(const torch::Tensor& qweight);

// A qint8 weight with zero points of 0, per tensor or per output channel:
// what oneDNN accepts, and what the passes' requantization assumes.
bool IsSymmetricQInt8(const torch::Tensor& qweight);
// A quint8 tensor with one scale and zero point: what the activation passes read.
bool IsPerTensorQuint8(const torch::Tensor& x);

// Per output channel, padded with zeros to whole blocks of kChannelBlock.
struct Requantization {
  std::vector<int32_t> offset;  // minus the input zero point times the channel's sum of weights
  std::vector<float> bias;      // the float bias in the sums' units
  std::vector<float> scale;     // from the sums' units to the output's
};

// The constants of one layer (its weights per output channel), and those
// for the activation qparams it last ran with: a model calls each layer with
// the same qparams every time, and pays for them once.
class Requantizer {
 public:
  Requantizer(const torch::Tensor& qweight, const torch::Tensor& bias);  // bias: float, or undefined
  Requantizer(Requantizer&& other) noexcept;

  int64_t channels() const { return static_cast<int64_t>(weight_sums_.size()); }
  std::shared_ptr<const Requantization> For(double input_scale, int64_t input_zero_point, double output_scale) const;

 private:
  std::vector<int32_t> weight_sums_;
  std::vector<float> weight_inverse_;  // 1 / weight scale, in float as oneDNN holds it
  std::vector<float> bias_;
  mutable std::mutex mu_;
  mutable double input_scale_ = 0, output_scale_ = 0;
  mutable int64_t input_zero_point_ = -1;
  mutable std::shared_ptr<const Requantization> last_;
};

// Output bytes of channels [first, first + 16) from their int32 sums; `low`
// is 0 with ReLU and -inf without.
__attribute__((target("avx512f,avx512bw,avx512vl"))) inline __m128i RequantizeBlock(__m512i sums,
                                                                                      const Requantization& r,
                                                                                      int64_t first, __m512 low,
                                                                                      __m512 zero_point) {
  sums = _mm512_add_epi32(sums, _mm512_loadu_si512(r.offset.data() + first));
  __m512 y = _mm512_add_ps(_mm512_cvtepi32_ps(sums), _mm512_loadu_ps(r.bias.data() + first));
  y = _mm512_mul_ps(y, _mm512_loadu_ps(r.scale.data() + first));
  y = _mm512_add_ps(_mm512_max_ps(y, low), zero_point);
  y = _mm512_min_ps(_mm512_max_ps(y, _mm512_setzero_ps()), _mm512_set1_ps(255.0f));
  return _mm512_cvtusepi32_epi8(_mm512_cvtps_epi32(y));
}

// Half of RequantizeBlockAvx2: 8 channels from `at` as int32 in 0..255.
__attribute__((target("avx2"))) inline __m256i RequantizeHalfAvx2(__m256i sums, const Requantization& r, int64_t at,
                                                                  __m256 low, __m256 zero_point) {
  sums = _mm256_add_epi32(sums, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(r.offset.data() + at)));
  __m256 y = _mm256_add_ps(_mm256_cvtepi32_ps(sums), _mm256_loadu_ps(r.bias.data() + at));
  y = _mm256_mul_ps(y, _mm256_loadu_ps(r.scale.data() + at));
  y = _mm256_add_ps(_mm256_max_ps(y, low), zero_point);
  y = _mm256_min_ps(_mm256_max_ps(y, _mm256_setzero_ps()), _mm256_set1_ps(255.0f));
  return _mm256_cvtps_epi32(y);
}

// RequantizeBlock for AVX2: channels [first, first + 8) in `low_sums`,
// [first + 8, first + 16) in `high_sums`; the same float operations in the
// same order, so the same bytes as oneDNN's AVX2 matmul and conv
// (small_linear.h, conv_pool.h).
__attribute__((target("avx2"))) inline __m128i RequantizeBlockAvx2(__m256i low_sums, __m256i high_sums,
                                                                   const Requantization& r, int64_t first,
                                                                   __m256 low, __m256 zero_point) {
  // Values are 0..255, so neither pack saturates. packus_epi32 interleaves
  // the halves' 128-bit lanes, [a0-3 b0-3 | a4-7 b4-7]: reorder to a, then b.
  const __m256i words =
      _mm256_permute4x64_epi64(_mm256_packus_epi32(RequantizeHalfAvx2(low_sums, r, first, low, zero_point),
                                                   RequantizeHalfAvx2(high_sums, r, first + 8, low, zero_point)),
                               0xD8);
  return _mm_packus_epi16(_mm256_castsi256_si128(words), _mm256_extracti128_si256(words, 1));
}

}  // namespace qg::quant::internal
