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

// A qint8 weight with zero points of 0, per tensor or per output channel:
// what oneDNN accepts, and what the passes' requantization assumes.
bool IsSymmetricQInt8(const torch::Tensor& qweight);

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

}  // namespace qg::quant::internal
