#include "core/quant/internal/qstep.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <omp.h>
#include <torch/torch.h>

#include "core/models/graph_module.h"
#include "core/quant/internal/channel_mul.h"
#include "core/quant/internal/im2col.h"
#include "core/quant/internal/layer_math.h"
#include "core/quant/internal/nhwc_layer_norm.h"
#include "core/quant/internal/nhwc_max_pool.h"
#include "core/quant/internal/quantize_input.h"

namespace qg::quant::internal {
namespace {

// Typed handles into the dispatcher, looked up once. Conv and linear bypass the
// dispatcher altogether through their packed params' virtual apply().
using ConvPrepackFn = c10::intrusive_ptr<ConvPackedParamsBase<2>>(at::Tensor, c10::optional<at::Tensor>,
                                                                  torch::List<int64_t>, torch::List<int64_t>,
                                                                  torch::List<int64_t>, int64_t);
using LinearPrepackFn = c10::intrusive_ptr<LinearPackedParamsBase>(at::Tensor, c10::optional<at::Tensor>);
using AddFn = at::Tensor(at::Tensor, at::Tensor, double, int64_t);
using BatchNormFn = at::Tensor(at::Tensor, c10::optional<at::Tensor>, c10::optional<at::Tensor>, at::Tensor,
                               at::Tensor, double, double, int64_t);

template <typename Fn>
c10::TypedOperatorHandle<Fn> Op(const char* name, const char* overload = "") {
  return c10::Dispatcher::singleton().findSchemaOrThrow(name, overload).typed<Fn>();
}

const auto& ConvPrepack() {
  static const auto op = Op<ConvPrepackFn>("quantized::conv2d_prepack");
  return op;
}
const auto& LinearPrepack() {
  static const auto op = Op<LinearPrepackFn>("quantized::linear_prepack");
  return op;
}
const auto& QAdd(bool relu) {
  static const auto add = Op<AddFn>("quantized::add");
  static const auto add_relu = Op<AddFn>("quantized::add_relu");
  return relu ? add_relu : add;
}
// quantized::cat goes boxed: LibTorch 1.13's typed call cannot find the
// dispatch key inside a c10::List argument.
at::Tensor QCat(const std::vector<int>& inputs, const std::vector<torch::Tensor>& values, int64_t dim,
                const QParams& out) {
  static const auto op = c10::Dispatcher::singleton().findSchemaOrThrow("quantized::cat", "");
  c10::List<at::Tensor> parts;
  parts.reserve(inputs.size());
  for (int in : inputs) parts.push_back(values[in]);
  torch::jit::Stack stack{c10::IValue(std::move(parts)), dim, out.scale, out.zero_point};
  op.callBoxed(&stack);
  return stack.back().toTensor();
}
const auto& QMul() {
  static const auto mul = Op<AddFn>("quantized::mul");
  return mul;
}
const auto& QHardswish() {
  static const auto op = Op<at::Tensor(const at::Tensor&, double, int64_t)>("quantized::hardswish");
  return op;
}
// Boxed, like quantized::cat: its int[] and optional tensors.
at::Tensor QLayerNorm(const at::Tensor& x, const Step& s) {
  static const auto op = c10::Dispatcher::singleton().findSchemaOrThrow("quantized::layer_norm", "");
  torch::jit::Stack stack{x, std::vector<int64_t>{x.size(-1)}, s.weight, s.bias, s.eps, s.out.scale,
                          s.out.zero_point};
  op.callBoxed(&stack);
  return stack.back().toTensor();
}
const auto& QBatchNorm(bool relu) {
  static const auto bn = Op<BatchNormFn>("quantized::batch_norm2d");
  static const auto bn_relu = Op<BatchNormFn>("quantized::batch_norm2d_relu");
  return relu ? bn_relu : bn;
}

constexpr std::pair<StepKind, const char*> kNames[] = {
    {StepKind::kQuantizeInput, "quantize_input"}, {StepKind::kConv, "conv"},
    {StepKind::kLinear, "linear"},                {StepKind::kBatchNorm, "batch_norm"},
    {StepKind::kAdd, "add"},                      {StepKind::kConcat, "concat"},
    {StepKind::kMaxPool, "max_pool"},             {StepKind::kAvgPool, "avg_pool"},
    {StepKind::kAdaptiveAvgPool, "adaptive_avg_pool"}, {StepKind::kFlatten, "flatten"},
    {StepKind::kReLU, "relu"},                    {StepKind::kIdentity, "identity"},
    {StepKind::kFp32Conv, "fp32_conv"},           {StepKind::kFp32Linear, "fp32_linear"},
    {StepKind::kFp32BatchNorm, "fp32_batch_norm"},
    {StepKind::kMul, "mul"},                      {StepKind::kActivation, "activation"},
    {StepKind::kFp32Op, "fp32_op"},
    {StepKind::kLayerNorm, "layer_norm"},         {StepKind::kFp32LayerNorm, "fp32_layer_norm"},
};

torch::Tensor AsFloat(const torch::Tensor& t) { return t.is_quantized() ? t.dequantize() : t; }

// An activation on a quantized tensor, on LibTorch's INT8 kernels: clamp,
// leaky ReLU, GELU, channel shuffle and slice keep the input's scale, sigmoid and hard
// sigmoid write theirs (1/256), hard swish takes the step's.
torch::Tensor QuantizedActivation(const Step& s, const torch::Tensor& x) {
  switch (s.fn.op) {
    case models::Op::kClamp: return at::clamp(x, s.fn.clamp_min, s.fn.clamp_max);
    case models::Op::kLeakyReLU: return at::leaky_relu(x, s.fn.alpha);
    case models::Op::kSigmoid: return at::sigmoid(x);
    case models::Op::kHardSigmoid: return at::hardsigmoid(x);
    case models::Op::kHardSwish: return QHardswish().call(x, s.out.scale, s.out.zero_point);
    case models::Op::kGELU: return at::gelu(x);  // the input's qparams
    case models::Op::kChannelShuffle: {
      // Not at::channel_shuffle: on a quantized tensor it leaves the next
      // oneDNN op waiting milliseconds for its threads (PyTorch 1.13 alike:
      // conv, shuffle, conv took 12.6 ms at batch 4, 0.09 ms this way, with
      // the same bytes out). (N, g, C/g, H, W), groups swapped, back.
      const auto dims = x.sizes().vec();
      const int64_t g = s.fn.groups;
      return x.contiguous()
          .view({dims[0], g, dims[1] / g, dims[2], dims[3]})
          .transpose(1, 2)
          .contiguous()
          .view(dims)
          .contiguous(x.suggest_memory_format());
    }
    case models::Op::kSlice: return x.narrow(1, s.fn.start, s.fn.out_channels).contiguous(x.suggest_memory_format());
    default: TORCH_CHECK(false, "INT8 step '", s.name, "' has no quantized kernel for its op");
  }
}

torch::Tensor MaybeQuantize(const Step& s, torch::Tensor y) {
  if (s.relu) y = FusedRelu(y, s.relu_max);
  if (!s.quantize_output) return y;
  return at::quantize_per_tensor(y, s.out.scale, s.out.zero_point, torch::kQUInt8);
}

}  // namespace

bool Step::IsInt8() const {
  switch (kind) {
    case StepKind::kConv:
    case StepKind::kLinear:
    case StepKind::kBatchNorm:
    case StepKind::kAdd:
    case StepKind::kConcat:
    case StepKind::kMul:
    case StepKind::kActivation:
    case StepKind::kLayerNorm:
      return true;
    default:
      return false;
  }
}

const char* StepKindName(StepKind kind) {
  for (const auto& [k, n] : kNames) {
    if (k == kind) return n;
  }
  return "?";
}

bool StepKindFromName(const std::string& name, StepKind* kind) {
  for (const auto& [k, n] : kNames) {
    if (name == n) {
      *kind = k;
      return true;
    }
  }
  return false;
}

namespace {

// onednn only: qnnpack's kernels were not measured in this form.
bool RunsAsIm2col(const Step& s) {
  return IsSingleChannel3x3Conv(s) && at::globalContext().qEngine() == at::QEngine::ONEDNN && FastIm2colSupported();
}

// The 3x3 single-channel weight as a 1x1 weight over the 9 taps: tap 3 dy + dx
// is kernel element (dy, dx), so the int8 bytes keep their order.
torch::Tensor TapWeight(const torch::Tensor& q) {
  const auto taps = q.int_repr().reshape({q.size(0), 9, 1, 1});
  return q.qscheme() == torch::kPerChannelAffine
             ? at::_make_per_channel_quantized_tensor(taps, q.q_per_channel_scales(), q.q_per_channel_zero_points(), 0)
             : at::_make_per_tensor_quantized_tensor(taps, q.q_scale(), q.q_zero_point());
}

PacksByShape::Packs Pack(const Step& s) {
  const c10::optional<at::Tensor> bias = s.bias.defined() ? c10::optional<at::Tensor>(s.bias) : c10::nullopt;
  if (s.im2col) return {ConvPrepack().call(TapWeight(s.qweight), bias, {1, 1}, {0, 0}, {1, 1}, 1), {}};
  if (s.kind == StepKind::kConv) {
    return {ConvPrepack().call(s.qweight, bias, {s.stride[0], s.stride[1]}, {s.padding[0], s.padding[1]},
                               {s.dilation[0], s.dilation[1]}, s.groups),
            {}};
  }
  return {{}, LinearPrepack().call(s.qweight, bias)};
}

// The packs to apply to `x`: see PacksByShape.
PacksByShape::Packs PacksFor(const Step& s, const torch::Tensor& x) {
  if (!s.packs_by_shape) return {s.packed_conv, s.packed_linear};
  auto& by = *s.packs_by_shape;
  std::lock_guard lock(by.mu);
  const int threads = omp_get_max_threads();
  for (const auto& e : by.entries) {
    if (x.sizes() == e.shape && threads == e.threads) return e.packs;
  }
  if (by.entries.size() >= PacksByShape::kMaxShapes) return by.entries.front().packs;
  // The step's own packs serve the first shape and thread count; later ones get new packs.
  by.entries.push_back({x.sizes().vec(), threads,
                        by.entries.empty() ? PacksByShape::Packs{s.packed_conv, s.packed_linear}
                                                            : Pack(s)});
  return by.entries.back().packs;
}

}  // namespace

bool IsSingleChannel3x3Conv(const Step& s) {
  const std::array<int64_t, 2> one{1, 1};
  return s.kind == StepKind::kConv && s.qweight.defined() && s.qweight.dim() == 4 && s.qweight.size(1) == 1 &&
         s.qweight.size(2) == 3 && s.qweight.size(3) == 3 && s.groups == 1 && s.dilation == one && s.stride == one &&
         s.padding[0] == s.padding[1] && s.padding[0] <= 1;
}

void PackWeights(Step& s, bool allow_im2col) {
  if (s.kind != StepKind::kConv && s.kind != StepKind::kLinear) return;
  s.im2col = allow_im2col && RunsAsIm2col(s);
  auto packs = Pack(s);
  s.packed_conv = std::move(packs.conv);
  s.packed_linear = std::move(packs.linear);
  s.packs_by_shape = at::globalContext().qEngine() == at::QEngine::ONEDNN ? std::make_shared<PacksByShape>() : nullptr;
}

size_t PackedShapeCount(const Step& s) {
  if (!s.packs_by_shape) return 0;
  std::lock_guard lock(s.packs_by_shape->mu);
  return s.packs_by_shape->entries.size();
}

void RunStep(const Step& s, std::vector<torch::Tensor>& values) {
  const auto& x = values[s.inputs.empty() ? 0 : s.inputs[0]];
  torch::Tensor y;
  switch (s.kind) {
    case StepKind::kQuantizeInput:
      y = QuantizeInput(x, s.out.scale, s.out.zero_point);
      break;
    case StepKind::kConv: {
      const torch::Tensor in = s.im2col ? Im2col3x3(x, s.padding[0]) : x;
      const auto packed = PacksFor(s, in).conv;
      y = s.relu ? packed->apply_relu(in, s.out.scale, s.out.zero_point)
                 : packed->apply(in, s.out.scale, s.out.zero_point);
      break;
    }
    case StepKind::kLinear: {
      const auto packed = PacksFor(s, x).linear;
      y = s.relu ? packed->apply_relu(x, s.out.scale, s.out.zero_point)
                 : packed->apply(x, s.out.scale, s.out.zero_point);
      break;
    }
    case StepKind::kBatchNorm:
      y = QBatchNorm(s.relu).call(x, s.weight, s.bias, s.bn_mean, s.bn_var, s.eps, s.out.scale, s.out.zero_point);
      break;
    case StepKind::kAdd:
      y = QAdd(s.relu).call(x, values[s.inputs[1]], s.out.scale, s.out.zero_point);
      break;
    case StepKind::kConcat:
      y = QCat(s.inputs, values, s.dim, s.out);
      break;
    case StepKind::kMaxPool:
      if (NhwcMaxPoolTakes(x)) {
        y = NhwcMaxPool(x, s.kernel, s.stride, s.padding, s.ceil_mode);
        break;
      }
      y = at::max_pool2d(x, {s.kernel[0], s.kernel[1]}, {s.stride[0], s.stride[1]}, {s.padding[0], s.padding[1]},
                         {1, 1}, s.ceil_mode);
      break;
    case StepKind::kAvgPool:
      y = at::avg_pool2d(x, {s.kernel[0], s.kernel[1]}, {s.stride[0], s.stride[1]}, {s.padding[0], s.padding[1]},
                         s.ceil_mode, s.count_include_pad);
      break;
    case StepKind::kAdaptiveAvgPool:
      y = at::adaptive_avg_pool2d(x, {s.output_size[0], s.output_size[1]});
      break;
    case StepKind::kFlatten:
      y = s.nhwc ? x.permute({0, 2, 3, 1}).reshape({x.size(0), -1}) : torch::flatten(x, s.dim);
      break;
    case StepKind::kReLU:
      y = torch::relu(x);
      break;
    case StepKind::kIdentity:
      y = x;
      break;
    case StepKind::kFp32Conv:
      y = MaybeQuantize(s, torch::conv2d(AsFloat(x).contiguous(torch::MemoryFormat::ChannelsLast), s.weight, s.bias,
                                         {s.stride[0], s.stride[1]}, {s.padding[0], s.padding[1]},
                                         {s.dilation[0], s.dilation[1]}, s.groups));
      break;
    case StepKind::kMul: {
      // An image times a per-channel gate (squeeze-excitation) in one pass.
      const auto& other = values[s.inputs[1]];
      if (ChannelMulTakes(x, other)) {
        y = ChannelMul(x, other, s.out.scale, s.out.zero_point);
      } else if (ChannelMulTakes(other, x)) {
        y = ChannelMul(other, x, s.out.scale, s.out.zero_point);
      } else {
        y = QMul().call(x, other, s.out.scale, s.out.zero_point);
      }
      break;
    }
    case StepKind::kActivation:
      y = QuantizedActivation(s, x);
      break;
    case StepKind::kFp32Op:
      y = MaybeQuantize(s, models::Activation(s.fn, AsFloat(x),
                                              s.inputs.size() > 1 ? AsFloat(values[s.inputs[1]]) : torch::Tensor()));
      break;
    case StepKind::kFp32Linear:
      y = MaybeQuantize(s, torch::linear(AsFloat(x), s.weight, s.bias));
      break;
    case StepKind::kFp32BatchNorm:
      y = MaybeQuantize(s, torch::batch_norm(AsFloat(x), s.weight, s.bias, s.bn_mean, s.bn_var, false, 0.0, s.eps,
                                             false));
      break;
    case StepKind::kLayerNorm:
      if (NhwcLayerNormTakes(x, s.weight, s.bias)) {
        y = NhwcLayerNorm(x, s.weight, s.bias, s.eps, s.out);
        break;
      }
      // Over the last dim of the N,H,W,C view, which channels-last makes contiguous.
      y = QLayerNorm(x.contiguous(torch::MemoryFormat::ChannelsLast).permute({0, 2, 3, 1}), s).permute({0, 3, 1, 2});
      break;
    case StepKind::kFp32LayerNorm:
      y = MaybeQuantize(s, models::ChannelLayerNorm(AsFloat(x), s.weight, s.bias, s.eps));
      break;
  }
  values[s.output] = std::move(y);
}

}  // namespace qg::quant::internal
