#include "core/quant/internal/quantize_input.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cstring>

// at::parallel_for below splits its range only in a file compiled with
// OpenMP (every TORCH target is: cmake/QuantgridHelpers.cmake).
#ifndef _OPENMP
#error "compile with OpenMP, or at::parallel_for runs on the calling thread alone"
#endif

namespace qg::quant::internal {
namespace {

// LibTorch 1.13 without fbgemm computes at::quantize_per_tensor per element
// as zp + nearbyint(x * (1.0f / float(scale))) in a scalar loop (~3.3
// ns/element here). Rounding with the 1.5 * 2^23 trick (round half to even,
// like nearbyint in the default rounding mode) lets the compiler vectorize it
// without SSE4.1, after clamping to a range where the trick is exact and the
// final clamp gives the same answer. The loop is compiled for AVX-512 and
// AVX2 beside the x86-64 baseline and picked at load time (GCC
// target_clones): 4x faster than the baseline SSE2 loop here.
__attribute__((target_clones("avx512f", "avx2", "default"))) void QuantizeRange(
    const float* __restrict in, uint8_t* __restrict out, int64_t n, float inv, float lo, float hi, float zp) {
  constexpr float kMagic = 12582912.0f;  // 1.5 * 2^23
  for (int64_t i = 0; i < n; ++i) {
    const float y = std::min(std::max(in[i] * inv, lo), hi);
    const float r = (y + kMagic) - kMagic + zp;
    out[i] = static_cast<uint8_t>(static_cast<int32_t>(std::min(std::max(r, 0.0f), 255.0f)));
  }
}

using Bytes16 = uint8_t __attribute__((vector_size(16)));

// Sixteen pixels' bytes of each of 3 planes woven into 48 bytes of pixels
// (R0 G0 B0 R1 ...), as byte shuffles. A byte loop here made the quantize of
// a 32 x 3 x 96 x 96 batch 0.49 ms instead of 0.17, more than the conv saves.
__attribute__((target_clones("avx512f", "avx2", "default"))) void InterleaveRgb(const uint8_t* __restrict planes,
                                                                                int64_t stride, int64_t count,
                                                                                uint8_t* __restrict out) {
  // Output byte k of vector v is pixel (16 v + k) / 3, channel (16 v + k) % 3.
  // A shuffle reads two sources (indices 0-15, 16-31): kRg gathers the R and
  // G bytes vector v needs into one register, kWithB weaves them with B's.
  static constexpr Bytes16 kRg[3] = {{0, 1, 2, 3, 4, 5, 16, 17, 18, 19, 20, 0, 0, 0, 0, 0},
                                     {6, 7, 8, 9, 10, 21, 22, 23, 24, 25, 26, 0, 0, 0, 0, 0},
                                     {11, 12, 13, 14, 15, 27, 28, 29, 30, 31, 0, 0, 0, 0, 0, 0}};
  static constexpr Bytes16 kWithB[3] = {{0, 6, 16, 1, 7, 17, 2, 8, 18, 3, 9, 19, 4, 10, 20, 5},
                                        {5, 21, 0, 6, 22, 1, 7, 23, 2, 8, 24, 3, 9, 25, 4, 10},
                                        {26, 0, 5, 27, 1, 6, 28, 2, 7, 29, 3, 8, 30, 4, 9, 31}};
  int64_t p = 0;
  for (; p + 16 <= count; p += 16) {
    Bytes16 r, g, b;
    std::memcpy(&r, planes + p, 16);
    std::memcpy(&g, planes + stride + p, 16);
    std::memcpy(&b, planes + 2 * stride + p, 16);
    for (int v = 0; v < 3; ++v) {
      const Bytes16 rg = __builtin_shuffle(r, g, kRg[v]);
      const Bytes16 woven = __builtin_shuffle(rg, b, kWithB[v]);
      std::memcpy(out + 3 * p + 16 * v, &woven, 16);
    }
  }
  for (; p < count; ++p) {
    for (int64_t c = 0; c < 3; ++c) out[3 * p + c] = planes[c * stride + p];
  }
}

}  // namespace

torch::Tensor QuantizeInput(const torch::Tensor& x, double scale, int64_t zero_point) {
  if (x.scalar_type() != at::kFloat || !x.is_contiguous() || !x.device().is_cpu()) {
    return at::quantize_per_tensor(x, scale, zero_point, at::kQUInt8);
  }
  const float inv = 1.0f / static_cast<float>(scale);
  const float zp = static_cast<float>(zero_point);
  const float lo = -zp - 1.0f, hi = 256.0f - zp;  // integers just outside [0, 255] - zp
  const float* src = x.data_ptr<float>();
  if (x.dim() == 4 && x.size(1) == 3) {
    auto out = at::_empty_affine_quantized(x.sizes(), x.options().dtype(at::kQUInt8), scale, zero_point,
                                           at::MemoryFormat::ChannelsLast);
    auto* dst = reinterpret_cast<uint8_t*>(out.data_ptr<c10::quint8>());
    const int64_t pixels = x.size(2) * x.size(3);
    constexpr int64_t kBlock = 512;  // pixels per block: its planes stay in L1
    const int64_t blocks = (pixels + kBlock - 1) / kBlock;
    // Blocks per task: about the 16384 values of the planar loop's grain.
    at::parallel_for(0, x.size(0) * blocks, 16384 / (3 * kBlock) + 1, [=](int64_t begin, int64_t end) {
      uint8_t planes[3 * kBlock];
      for (int64_t i = begin; i < end; ++i) {
        const int64_t n = i / blocks, first = (i % blocks) * kBlock, count = std::min(kBlock, pixels - first);
        for (int64_t c = 0; c < 3; ++c) {
          QuantizeRange(src + (n * 3 + c) * pixels + first, planes + c * kBlock, count, inv, lo, hi, zp);
        }
        InterleaveRgb(planes, kBlock, count, dst + (n * pixels + first) * 3);
      }
    });
    return out;
  }
  auto out = at::_empty_affine_quantized(x.sizes(), x.options().dtype(at::kQUInt8), scale, zero_point);
  auto* dst = reinterpret_cast<uint8_t*>(out.data_ptr<c10::quint8>());
  // Compiled with OpenMP (CMakeLists.txt): otherwise this runs on one thread.
  at::parallel_for(0, x.numel(), 16384, [=](int64_t begin, int64_t end) {
    QuantizeRange(src + begin, dst + begin, end - begin, inv, lo, hi, zp);
  });
  return out;
}

}  // namespace qg::quant::internal
