#include "core/quant/internal/byte_table.h"

#include <ATen/Parallel.h>
#include <immintrin.h>
#include <torch/torch.h>

#include <algorithm>

#include "core/quant/internal/requantization.h"

namespace qg::quant::internal {
namespace {

// 64 bytes per iteration: vpermi2b looks each byte's low 7 bits up in 128
// table bytes, once in each half of the table; the top bit picks the half.
__attribute__((target("avx512f,avx512bw,avx512vbmi"))) void LookUpAvx512(const uint8_t* in, uint8_t* out,
                                                                         int64_t n, const uint8_t* table) {
  const __m512i t0 = _mm512_loadu_si512(table), t1 = _mm512_loadu_si512(table + 64);
  const __m512i t2 = _mm512_loadu_si512(table + 128), t3 = _mm512_loadu_si512(table + 192);
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    const __m512i v = _mm512_loadu_si512(in + i);
    const __m512i low = _mm512_permutex2var_epi8(t0, v, t1);
    const __m512i high = _mm512_permutex2var_epi8(t2, v, t3);
    _mm512_storeu_si512(out + i, _mm512_mask_blend_epi8(_mm512_movepi8_mask(v), low, high));
  }
  for (; i < n; ++i) out[i] = table[in[i]];
}

void LookUpScalar(const uint8_t* in, uint8_t* out, int64_t n, const uint8_t* table) {
  for (int64_t i = 0; i < n; ++i) out[i] = table[in[i]];
}

}  // namespace

bool IsBytewiseStep(const Step& s) {
  if (s.kind != StepKind::kActivation) return false;
  switch (s.fn.op) {
    case models::Op::kSigmoid:
    case models::Op::kHardSigmoid:
    case models::Op::kHardSwish:
    case models::Op::kLeakyReLU:
    case models::Op::kGELU:
      return true;
    default:
      return false;
  }
}

ByteTable MakeByteTable(const std::vector<const Step*>& chain, double in_scale, int64_t in_zero_point) {
  TORCH_CHECK(!chain.empty(), "a byte table needs a step");
  const int input = chain.front()->inputs.at(0);
  int slots = input;
  for (const Step* s : chain) {
    slots = std::max(slots, s->output);
    for (int in : s->inputs) slots = std::max(slots, in);
  }
  std::vector<torch::Tensor> values(static_cast<size_t>(slots) + 1);
  values[input] = at::_make_per_tensor_quantized_tensor(torch::arange(256, torch::kUInt8).view({1, 256, 1, 1}),
                                                        in_scale, in_zero_point);
  for (const Step* s : chain) RunStep(*s, values);
  const torch::Tensor& out = values[chain.back()->output];
  TORCH_CHECK(out.is_quantized() && out.scalar_type() == torch::kQUInt8 && out.numel() == 256,
              "step '", chain.back()->name, "' does not map quint8 bytes to quint8 bytes");
  ByteTable t{.in_scale = in_scale, .in_zero_point = in_zero_point, .out_scale = out.q_scale(),
              .out_zero_point = out.q_zero_point()};
  const auto bytes = out.int_repr().contiguous();
  std::copy_n(bytes.data_ptr<uint8_t>(), 256, t.bytes.begin());
  return t;
}

bool ByteTableTakes(const torch::Tensor& x) { return IsPerTensorQuint8(x); }

bool ByteTableFits(const ByteTable& t, const torch::Tensor& x) {
  return ByteTableTakes(x) && x.q_scale() == t.in_scale && x.q_zero_point() == t.in_zero_point;
}

torch::Tensor LookUpBytes(const torch::Tensor& x, const ByteTable& t) {
  const auto format = x.suggest_memory_format();
  const torch::Tensor in = x.contiguous(format);
  torch::Tensor out = at::_empty_affine_quantized(in.sizes(), in.options(), t.out_scale, t.out_zero_point, format);
  const auto* src = reinterpret_cast<const uint8_t*>(in.data_ptr<c10::quint8>());
  auto* dst = reinterpret_cast<uint8_t*>(out.data_ptr<c10::quint8>());
  const auto look_up = HasAvx512Vbmi() ? LookUpAvx512 : LookUpScalar;
  at::parallel_for(0, in.numel(), 1 << 16, [&](int64_t begin, int64_t end) {
    look_up(src + begin, dst + begin, end - begin, t.bytes.data());
  });
  return out;
}

}  // namespace qg::quant::internal
