#include "core/quant/convert.h"

#include <torch/torch.h>

#include <cmath>
#include <functional>
#include <limits>

#include "core/base/logging.h"
#include "core/base/torch_call.h"
#include "core/quant/engine.h"
#include "core/quant/internal/qstep.h"
#include "core/quant/observers.h"

namespace qg::quant {

using internal::Step;
using internal::StepKind;

bool FitWeightsToEngine(ConvertOptions& options, const std::string& engine) {
  if (options.weight_spec.bits <= 7 || !U8S8PairsSaturate(engine)) return false;
  options.weight_spec.bits = 7;
  return true;
}

namespace {

// Below 8 bits the int8 values are clamped onto the narrower grid (rounding
// can land one step past its edge).
torch::Tensor ClampToBits(const torch::Tensor& q, const QuantSpec& spec) {
  if (spec.bits >= 8) return q;
  const auto values = q.int_repr().clamp(spec.QuantMin(), spec.QuantMax());
  if (q.qscheme() == torch::kPerChannelAffine || q.qscheme() == torch::kPerChannelSymmetric) {
    return at::_make_per_channel_quantized_tensor(values, q.q_per_channel_scales(), q.q_per_channel_zero_points(),
                                                  q.q_per_channel_axis());
  }
  return at::_make_per_tensor_quantized_tensor(values, q.q_scale(), q.q_zero_point());
}

}  // namespace

torch::Tensor QuantizeWeight(const torch::Tensor& w, const ConvertOptions& o) {
  const auto weight = w.detach().contiguous();
  auto ranges = WeightRanges(weight, o.weight_observer, o.weight_spec);
  if (!ranges) throw std::invalid_argument(ranges.error().message);
  if (o.per_channel) {
    const auto [scales, zps] = ChooseQParamsPerChannel(ranges->first, ranges->second, o.weight_spec);
    return ClampToBits(at::quantize_per_channel(weight, scales, zps, 0, o.weight_spec.dtype), o.weight_spec);
  }
  const QParams q = ChooseQParams(ranges->first.min().item<double>(), ranges->second.max().item<double>(),
                                  o.weight_spec);
  return ClampToBits(at::quantize_per_tensor(weight, q.scale, q.zero_point, o.weight_spec.dtype), o.weight_spec);
}

namespace {

// The FP32 parameters of a block's main node.
void CopyFp32Params(const models::GraphModule& m, const Block& b, Step& s) {
  if (auto conv = m->conv(b.main)) {
    s.weight = conv->weight.detach().clone().contiguous(torch::MemoryFormat::ChannelsLast);
    if (conv->bias.defined()) s.bias = conv->bias.detach().clone();
  } else if (auto lin = m->linear(b.main)) {
    s.weight = lin->weight.detach().clone();
    if (lin->bias.defined()) s.bias = lin->bias.detach().clone();
  } else if (auto bn = m->bn(b.main)) {
    s.weight = bn->weight.detach().clone();
    s.bias = bn->bias.detach().clone();
    s.bn_mean = bn->running_mean.detach().clone();
    s.bn_var = bn->running_var.detach().clone();
    s.eps = bn->options.eps();
  } else if (auto ln = m->layer_norm(b.main)) {
    s.weight = ln->weight.detach().clone();
    s.bias = ln->bias.detach().clone();
    s.eps = ln->options.eps();
  }
}

// Channels of a node's value, found by walking back to what produced them.
int64_t ChannelsOf(const models::Graph& g, int node) {
  const models::Node& n = g.nodes[node];
  switch (n.op) {
    case models::Op::kConv2d:
    case models::Op::kBatchNorm2d:
    case models::Op::kLinear:
      return n.out_channels;
    case models::Op::kConcat: {
      int64_t c = 0;
      for (int in : n.inputs) c += ChannelsOf(g, in);
      return c;
    }
    case models::Op::kInput:
      return -1;  // unknown here; no rewrite
    default:
      return ChannelsOf(g, n.inputs[0]);
  }
}

// Flatten -> Linear over a C x H x W map: flatten in NHWC order instead (a free
// view of channels-last tensors) and permute the Linear's weight columns from
// (c, h, w) to (h, w, c) order so it computes the same function.
void UseNhwcFlatten(const models::Graph& g, std::vector<Step>& steps) {
  for (size_t i = 0; i + 1 < steps.size(); ++i) {
    Step& flatten = steps[i];
    if (flatten.kind != StepKind::kFlatten || flatten.dim != 1) continue;
    std::vector<Step*> readers;
    for (auto& s : steps) {
      if (std::find(s.inputs.begin(), s.inputs.end(), flatten.output) != s.inputs.end()) readers.push_back(&s);
    }
    if (readers.size() != 1) continue;
    Step& linear = *readers[0];
    const bool int8 = linear.kind == StepKind::kLinear;
    if (!int8 && linear.kind != StepKind::kFp32Linear) continue;
    const int64_t c = ChannelsOf(g, flatten.inputs[0]);
    const torch::Tensor& w = int8 ? linear.qweight : linear.weight;
    if (c <= 0 || w.size(1) % c != 0 || w.size(1) == c) continue;  // 1x1 maps need nothing
    const int64_t hw = w.size(1) / c;
    auto permute = [&](const torch::Tensor& t) {
      return t.reshape({t.size(0), c, hw}).permute({0, 2, 1}).reshape({t.size(0), -1}).contiguous();
    };
    if (int8) {
      // Quantized tensors cannot be permuted in LibTorch 1.13: permute the int8
      // bytes and keep the scales (column order does not change a row's range).
      const auto& q = linear.qweight;
      linear.qweight = q.qscheme() == torch::kPerChannelAffine
                           ? at::_make_per_channel_quantized_tensor(permute(q.int_repr()), q.q_per_channel_scales(),
                                                                    q.q_per_channel_zero_points(), 0)
                           : at::_make_per_tensor_quantized_tensor(permute(q.int_repr()), q.q_scale(),
                                                                   q.q_zero_point());
      PackWeights(linear);
    } else {
      linear.weight = permute(linear.weight);
    }
    flatten.nhwc = true;
  }
}

using QParamsOf = std::function<Result<QParams>(int node)>;

// A conv or linear block's step: INT8 with packed weights, or FP32 when asked
// (fp32_layers) or, with allow_fp32_fallback, when the engine cannot pack it.
Status ConvertWeighted(const models::GraphModule& model, const Block& b, const ConvertOptions& o, bool keep_fp32,
                       Step& s) {
  const StepKind fp32 = b.kind == BlockKind::kConv ? StepKind::kFp32Conv : StepKind::kFp32Linear;
  CopyFp32Params(model, b, s);
  if (auto it = o.bias_overrides.find(b.name); it != o.bias_overrides.end()) s.bias = it->second.clone();
  if (keep_fp32) {
    s.kind = fp32;
    return OkStatus();
  }
  s.kind = b.kind == BlockKind::kConv ? StepKind::kConv : StepKind::kLinear;
  auto packed = TorchCall("", [&] {
    auto given = o.weight_overrides.find(b.name);
    s.qweight = given != o.weight_overrides.end() ? given->second : QuantizeWeight(s.weight, o);
    internal::PackWeights(s);
  });
  if (!packed) {
    if (!o.allow_fp32_fallback) {
      return Error::FailedPrecondition("layer '{}' ({}): engine '{}' cannot quantize it: {}", b.name,
                                       BlockKindName(b.kind), CurrentEngine(), packed.error().message);
    }
    Log("quant")->warn("layer '{}' ({}) stays FP32: engine '{}' cannot quantize it: {}", b.name,
                       BlockKindName(b.kind), CurrentEngine(), packed.error().message);
    s.kind = fp32;
    s.qweight = torch::Tensor();
    return OkStatus();
  }
  s.weight = torch::Tensor();  // the packed copy is what runs
  return OkStatus();
}

// The step kind of a block without weights to convert.
StepKind PlainStepKind(BlockKind kind) {
  switch (kind) {
    case BlockKind::kAdd: return StepKind::kAdd;
    case BlockKind::kConcat: return StepKind::kConcat;
    case BlockKind::kMaxPool: return StepKind::kMaxPool;
    case BlockKind::kAvgPool: return StepKind::kAvgPool;
    case BlockKind::kAdaptiveAvgPool: return StepKind::kAdaptiveAvgPool;
    case BlockKind::kFlatten: return StepKind::kFlatten;
    case BlockKind::kReLU: return StepKind::kReLU;
    default: return StepKind::kIdentity;
  }
}

// A fused clamp at 0 and `bound` that qparams `q` already apply: the bound
// quantizes to 255 or above, so the kernel's ReLU and its saturation at 255
// give the clamp's values. True for a plain ReLU (an infinite bound).
bool ClampImpliedByRange(const QParams& q, double bound) {
  return !std::isfinite(bound) || std::nearbyint(bound / q.scale) + static_cast<double>(q.zero_point) >= 255.0;
}

// One block of the plan as a step of the INT8 model.
Result<Step> StepOf(const models::GraphModule& model, const Block& b, const ConvertOptions& o, const QParamsOf& qp) {
  const models::Node& n = model->graph().nodes[b.main];
  Step s{.name = b.name, .inputs = b.inputs, .output = b.output, .relu = b.relu, .relu_max = b.relu_max};
  s.kernel = n.kernel;
  s.stride = n.stride;
  s.padding = n.padding;
  s.output_size = n.output_size;
  s.ceil_mode = n.ceil_mode;
  s.count_include_pad = n.count_include_pad;
  s.dim = n.dim;
  s.groups = n.groups;
  s.dilation = n.dilation;
  if (b.Requantizes()) {
    QG_ASSIGN_OR_RETURN(s.out, qp(b.output));
  }
  const bool keep_fp32 = o.fp32_layers.count(b.name) > 0;
  if (b.kind == BlockKind::kConv || b.kind == BlockKind::kLinear) {
    QG_RETURN_IF_ERROR(ConvertWeighted(model, b, o, keep_fp32, s));
  } else if (b.kind == BlockKind::kBatchNorm) {
    CopyFp32Params(model, b, s);
    s.kind = keep_fp32 ? StepKind::kFp32BatchNorm : StepKind::kBatchNorm;
  } else if (b.kind == BlockKind::kLayerNorm) {
    CopyFp32Params(model, b, s);
    s.kind = keep_fp32 ? StepKind::kFp32LayerNorm : StepKind::kLayerNorm;
  } else if (b.kind == BlockKind::kMul) {
    s.kind = StepKind::kMul;
  } else if (b.kind == BlockKind::kActivation) {
    s.fn = n;
    s.kind = b.NeedsFp32Fallback(n) || keep_fp32 ? StepKind::kFp32Op : StepKind::kActivation;
  } else {
    s.kind = PlainStepKind(b.kind);
  }
  return s;
}

bool IsFp32Step(const Step& s) {
  return s.kind == StepKind::kFp32Conv || s.kind == StepKind::kFp32Linear || s.kind == StepKind::kFp32BatchNorm ||
         s.kind == StepKind::kFp32Op || s.kind == StepKind::kFp32LayerNorm;
}

// Which values must be quantized tensors: those an INT8 step reads, and,
// through pass-through steps (pooling, flatten, relu), what feeds those. FP32
// steps whose output is one quantize it; an input that is one gets a
// quantize step of its own first.
Status QuantizeWhereRead(size_t values, std::vector<Step>& steps, const QParamsOf& qp) {
  std::vector<char> needs_int8(values, 0);
  for (auto it = steps.rbegin(); it != steps.rend(); ++it) {
    const bool passthrough = !it->IsInt8() && !IsFp32Step(*it);
    if (it->IsInt8() || (passthrough && needs_int8[it->output])) {
      for (int in : it->inputs) needs_int8[in] = 1;
    }
  }
  for (auto& s : steps) {
    if (IsFp32Step(s) && needs_int8[s.output]) {
      s.quantize_output = true;
      QG_ASSIGN_OR_RETURN(s.out, qp(s.output));
    }
  }
  if (needs_int8[0]) {
    Step quantize{.kind = StepKind::kQuantizeInput, .name = "input", .inputs = {0}, .output = 0};
    QG_ASSIGN_OR_RETURN(quantize.out, qp(0));
    steps.insert(steps.begin(), std::move(quantize));
  }
  return OkStatus();
}

// The qparams with each concat's inputs that a requantizing block writes for
// the concat alone on the concat's own (torch.ao shares one observer between
// a cat's inputs and output for the same reason). That block then rounds its
// accumulators once, onto the concat's grid, where it rounded onto its own
// and the concat rounded again; and the concat copies bytes: ONNX Runtime's
// QLinearConcat requantizing took 3.7 of squeezenet1_1's 9.9 ms at batch 32.
// The concat's range holds its inputs' (min/max observers see their union;
// other observers' clipping at the concat applied to them already). A block
// with a fused ReLU keeps its own where the concat's range starts below 0:
// ONNX Runtime fuses a ReLU into its conv only where the output's range makes
// it a no-op (zero point 0). Later concats first, so a concat read only by
// another takes the outer one's.
ActivationQParams ShareConcatQParams(const models::Graph& graph, const QuantPlan& plan, ActivationQParams qparams) {
  const auto consumers = graph.Consumers();
  std::map<int, const Block*> writer;
  for (const Block& b : plan.blocks) writer[b.output] = &b;
  for (auto b = plan.blocks.rbegin(); b != plan.blocks.rend(); ++b) {
    const auto concat = qparams.find(b->output);
    if (b->kind != BlockKind::kConcat || concat == qparams.end()) continue;
    for (int in : b->inputs) {
      const auto w = writer.find(in);
      if (w == writer.end() || !w->second->Requantizes() || in == plan.prediction || consumers[in].size() != 1 ||
          !qparams.contains(in)) {
        continue;
      }
      const QParams& shared = concat->second;
      if (w->second->relu && (shared.zero_point != 0 || !ClampImpliedByRange(shared, w->second->relu_max))) continue;
      qparams[in] = shared;
    }
  }
  return qparams;
}

}  // namespace

Result<std::unique_ptr<QuantizedModel>> Convert(const models::GraphModule& model, const QuantPlan& plan,
                                                const ActivationQParams& calibrated, const ConvertOptions& o) {
  const auto& graph = model->graph();
  const ActivationQParams qparams = ShareConcatQParams(graph, plan, calibrated);
  for (const auto& name : o.fp32_layers) {
    if (!plan.FindBlock(name)) return Error::InvalidArgument("fp32 layer '{}' is not a layer of this model", name);
  }
  const QParamsOf qp = [&](int node) -> Result<QParams> {
    const auto it = qparams.find(node);
    if (it == qparams.end()) return Error::Internal("no activation qparams for node '{}'", graph.nodes[node].name);
    return it->second;
  };
  std::vector<Step> steps;
  for (const Block& b : plan.blocks) {
    QG_ASSIGN_OR_RETURN(Step s, StepOf(model, b, o, qp));
    if (s.IsInt8() && s.relu && !ClampImpliedByRange(s.out, s.relu_max)) {
      // The output's range reaches above the clamp's bound (a 7-bit range
      // chosen for the engine leaves room there): the clamp runs as its own
      // step after the kernel's ReLU, on the conv's value.
      Step clamp{.kind = StepKind::kActivation,
                 .name = graph.nodes[b.output].name,
                 .inputs = {b.main},
                 .output = b.output,
                 .out = s.out};
      clamp.fn = graph.nodes[b.output];
      s.output = b.main;
      s.relu_max = std::numeric_limits<double>::infinity();
      steps.push_back(std::move(s));
      steps.push_back(std::move(clamp));
      continue;
    }
    steps.push_back(std::move(s));
  }
  UseNhwcFlatten(graph, steps);
  QG_RETURN_IF_ERROR(QuantizeWhereRead(graph.nodes.size(), steps, qp));
  nlohmann::json meta = o.meta;
  meta["model_name"] = model->meta().model_name;
  meta["options"] = model->meta().options;
  meta["value_names"] = nlohmann::json::array();
  for (const auto& n : graph.nodes) meta["value_names"].push_back(n.name);
  return std::make_unique<QuantizedModel>(std::move(steps), static_cast<int>(graph.nodes.size()), plan.prediction,
                                          CurrentEngine(), meta);
}

}  // namespace qg::quant
