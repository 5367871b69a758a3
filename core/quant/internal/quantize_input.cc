#include "core/quant/internal/quantize_input.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>

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

}  // namespace

torch::Tensor QuantizeInput(const torch::Tensor& x, double scale, int64_t zero_point) {
  if (x.scalar_type() != at::kFloat || !x.is_contiguous() || !x.device().is_cpu()) {
    return at::quantize_per_tensor(x, scale, zero_point, at::kQUInt8);
  }
  auto out = at::_empty_affine_quantized(x.sizes(), x.options().dtype(at::kQUInt8), scale, zero_point);
  const float* src = x.data_ptr<float>();
  auto* dst = reinterpret_cast<uint8_t*>(out.data_ptr<c10::quint8>());
  const float inv = 1.0f / static_cast<float>(scale);
  const float zp = static_cast<float>(zero_point);
  const float lo = -zp - 1.0f, hi = 256.0f - zp;  // integers just outside [0, 255] - zp
  // Compiled with OpenMP (CMakeLists.txt): otherwise this runs on one thread.
  at::parallel_for(0, x.numel(), 16384, [=](int64_t begin, int64_t end) {
    QuantizeRange(src + begin, dst + begin, end - begin, inv, lo, hi, zp);
  });
  return out;
}

}  // namespace qg::quant::internal
