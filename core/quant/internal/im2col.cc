#include "core/quant/internal/im2col.h"

#include <ATen/ATen.h>
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

namespace qg::quant::internal {
namespace {

constexpr int kTaps = 9;
constexpr int kChunkPixels = 7;  // 7 pixels x 9 taps = 63 bytes: one zmm store per chunk

struct Geometry {
  int64_t n, h, w, out_h, out_w, pad;
};

Geometry GeometryOf(const torch::Tensor& x, int64_t pad) {
  TORCH_CHECK(x.is_quantized() && x.scalar_type() == torch::kQUInt8, "im2col needs a quint8 tensor");
  TORCH_CHECK(x.dim() == 4 && x.size(1) == 1, "im2col needs N x 1 x H x W, got ", x.sizes());
  TORCH_CHECK(pad == 0 || pad == 1, "im2col supports padding 0 or 1, got ", pad);
  const Geometry g{x.size(0), x.size(2), x.size(3), x.size(2) + 2 * pad - 2, x.size(3) + 2 * pad - 2, pad};
  TORCH_CHECK(g.out_h > 0 && g.out_w > 0, "image ", g.h, "x", g.w, " is too small for a 3x3 kernel");
  return g;
}

// A new tap tensor for x, filled by write(image bytes, tap bytes, geometry,
// zero point). For C = 1, NCHW and NHWC hold the same bytes; any other layout
// of x gets copied first.
template <typename Write>
torch::Tensor Taps(const torch::Tensor& x, int64_t pad, Write write) {
  const Geometry g = GeometryOf(x, pad);
  const torch::Tensor in = x.is_contiguous() || x.is_contiguous(c10::MemoryFormat::ChannelsLast) ? x : x.contiguous();
  torch::Tensor out = at::_empty_affine_quantized({g.n, kTaps, g.out_h, g.out_w}, x.options(), x.q_scale(),
                                                  x.q_zero_point(), c10::MemoryFormat::ChannelsLast);
  write(reinterpret_cast<const uint8_t*>(in.data_ptr<c10::quint8>()),
        reinterpret_cast<uint8_t*>(out.data_ptr<c10::quint8>()), g, static_cast<uint8_t>(x.q_zero_point()));
  return out;
}

// Up to 9 bytes of `row` from column `first`: `columns` marks those inside
// the image, the rest (and a row outside the image, null) read as `fill`.
__attribute__((target("avx512f,avx512bw,avx512vl"))) inline __m128i LoadColumns(const uint8_t* row, int64_t first,
                                                                               __mmask16 columns, __m128i fill) {
  if (row == nullptr) return fill;
  // Integer arithmetic: the first column may start one byte before the image;
  // the mask keeps that byte unread.
  return _mm_mask_loadu_epi8(fill, columns, reinterpret_cast<const void*>(reinterpret_cast<uintptr_t>(row) + first));
}

// One chunk of 7 output pixels reads 9 input columns of 3 rows. Each row's 9
// bytes go into a 16-byte lane of one zmm register (row dy in lane dy), and
// one byte permute puts tap (dy, dx) of pixel p at byte 9 p + 3 dy + dx.
// Bytes outside the image come from the masked loads' zero-point fill.
// One thread: the pass is bound by writing the taps (451 KB at batch 64,
// ~30 us), a second thread made it no faster, and every parallel region costs
// a fork and a join on top.
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi"))) void TapsVbmi(const uint8_t* images, uint8_t* taps,
                                                                             const Geometry& g, uint8_t zero_point) {
  alignas(64) uint8_t order[64] = {};
  for (int i = 0; i < kChunkPixels * kTaps; ++i) {
    const int pixel = i / kTaps, tap = i % kTaps;
    order[i] = static_cast<uint8_t>(16 * (tap / 3) + pixel + tap % 3);
  }
  const __m512i permute = _mm512_load_si512(order);
  const __m128i fill = _mm_set1_epi8(static_cast<char>(zero_point));
  constexpr __mmask16 kAllColumns = (1u << kTaps) - 1;
  for (int64_t r = 0; r < g.n * g.out_h; ++r) {
    const int64_t image = r / g.out_h, oh = r % g.out_h;
    const uint8_t* rows[3];
    for (int dy = 0; dy < 3; ++dy) {
      const int64_t ih = oh - g.pad + dy;
      rows[dy] = ih >= 0 && ih < g.h ? images + (image * g.h + ih) * g.w : nullptr;
    }
    uint8_t* out = taps + r * g.out_w * kTaps;
    for (int64_t ow = 0; ow < g.out_w; ow += kChunkPixels) {
      const int64_t first = ow - g.pad;  // input column of the chunk's first tap
      __mmask16 columns = kAllColumns;
      if (first < 0 || first + kTaps > g.w) {
        const int64_t lo = std::max<int64_t>(0, -first), hi = std::min<int64_t>(kTaps, g.w - first);
        columns = static_cast<__mmask16>(((1u << hi) - 1) & ~((1u << lo) - 1));
      }
      __m512i table = _mm512_castsi128_si512(LoadColumns(rows[0], first, columns, fill));
      table = _mm512_inserti32x4(table, LoadColumns(rows[1], first, columns, fill), 1);
      table = _mm512_inserti32x4(table, LoadColumns(rows[2], first, columns, fill), 2);
      const int64_t bytes = std::min<int64_t>(kChunkPixels, g.out_w - ow) * kTaps;
      _mm512_mask_storeu_epi8(out + ow * kTaps, (__mmask64{1} << bytes) - 1, _mm512_permutexvar_epi8(permute, table));
    }
  }
}

}  // namespace

bool FastIm2colSupported() {
  static const bool supported = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                                __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vbmi");
  return supported;
}

torch::Tensor Im2col3x3(const torch::Tensor& x, int64_t pad) {
  TORCH_CHECK(FastIm2colSupported(), "im2col needs AVX-512 VBMI");
  return Taps(x, pad, TapsVbmi);
}

torch::Tensor Im2col3x3Reference(const torch::Tensor& x, int64_t pad) {
  return Taps(x, pad, [](const uint8_t* src, uint8_t* dst, const Geometry& g, uint8_t zero_point) {
    for (int64_t n = 0; n < g.n; ++n) {
      for (int64_t oh = 0; oh < g.out_h; ++oh) {
        for (int64_t ow = 0; ow < g.out_w; ++ow) {
          for (int tap = 0; tap < kTaps; ++tap) {
            const int64_t ih = oh - g.pad + tap / 3, iw = ow - g.pad + tap % 3;
            const bool inside = ih >= 0 && ih < g.h && iw >= 0 && iw < g.w;
            *dst++ = inside ? src[(n * g.h + ih) * g.w + iw] : zero_point;
          }
        }
      }
    }
  });
}

}  // namespace qg::quant::internal
