// ExportQdq: the QuantizedModel's steps as float ONNX operators between
// QuantizeLinear/DequantizeLinear pairs. A value the INT8 model holds as quint8
// is a Q/DQ pair with its scale and zero point; steps that keep their input's
// qparams (pooling, flatten, ReLU) get a pair with those, which is exact and
// lets ONNX Runtime stay in INT8 across them. A BatchNorm the model kept
// after a conv is folded into that conv (FoldBatchNormIntoConv), so that
// ONNX Runtime runs one QLinearConv and no float BatchNormalization between
// two Q/DQ pairs. So that ONNX Runtime runs them on its fast channels-last
// kernels, a conv over a grayscale image runs over groups of pixels
// (internal/pixel_groups.h), one over a colour image reads it padded to 4
// channels (internal/padded_channels.h), and channel shuffles and their
// slices are convs that pick channels (internal/channel_picks.h).
#include <fmt/format.h>
#include <onnx/shape_inference/implementation.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>

#include "core/export/internal/channel_picks.h"
#include "core/export/internal/padded_channels.h"
#include "core/export/internal/pixel_groups.h"
#include "core/export/onnx_export.h"
#include "core/export/onnx_ops.h"
#include "core/models/model_options.h"
#include "core/quant/internal/qstep.h"

namespace qg::onnx_export {
namespace {

using quant::QParams;
using quant::internal::Step;
using quant::internal::StepKind;

// BN(conv(x)) as one conv: each output channel's weight scale times
// gamma / sqrt(var + eps) (the int8 values kept, negated where that factor
// is negative), bias (b - mean) * factor + beta, and the BN's output qparams
// and ReLU. LibTorch's INT8 model rounds the conv's output to 8 bits before
// its BN; the folded conv skips that one rounding.
Step FoldBatchNormIntoConv(const Step& conv, const Step& bn) {
  Step folded = conv;
  const torch::Tensor factor = bn.weight.to(torch::kDouble) / torch::sqrt(bn.bn_var.to(torch::kDouble) + bn.eps);
  const int64_t out_channels = conv.qweight.size(0);
  const torch::Tensor scales = PerOutputChannel(conv.qweight).scales;
  std::vector<int64_t> per_row(conv.qweight.dim(), 1);
  per_row[0] = out_channels;
  const torch::Tensor sign = torch::where(factor < 0, -1.0, 1.0).reshape(per_row);
  // -128 negated does not fit int8: 127, one step off, for that weight only.
  const torch::Tensor values =
      (conv.qweight.int_repr().to(torch::kInt) * sign.to(torch::kInt)).clamp(-128, 127).to(torch::kChar);
  folded.qweight = at::_make_per_channel_quantized_tensor(values, scales * factor.abs(),
                                                          torch::zeros({out_channels}, torch::kLong), 0);
  const torch::Tensor bias = conv.bias.defined() ? conv.bias.to(torch::kDouble) : torch::zeros({out_channels}, torch::kDouble);
  folded.bias = ((bias - bn.bn_mean.to(torch::kDouble)) * factor + bn.bias.to(torch::kDouble)).to(torch::kFloat);
  folded.out = bn.out;
  folded.relu = bn.relu;
  folded.output = bn.output;
  folded.name = conv.name;
  return folded;
}

struct Value {
  std::string name;             // float tensor in the ONNX graph
  std::optional<QParams> qparams;  // set when the INT8 model holds it as quint8
};

class QdqExporter {
 public:
  QdqExporter(OnnxGraphWriter& w, int64_t image_size) : w_(w), image_size_(image_size) {}

  Status Run(const std::vector<Step>& steps, int num_values, int prediction) {
    values_.assign(num_values, Value{});
    values_[0] = Value{kInputName, std::nullopt};
    quantized_image_ = -1;
    // Who reads each value: a conv output read only by a BatchNorm folds.
    std::vector<int> readers(num_values, 0);
    std::vector<int> producer(num_values, -1);
    for (size_t i = 0; i < steps.size(); ++i) {
      for (int k : steps[i].inputs) ++readers.at(k);
      producer.at(steps[i].output) = static_cast<int>(i);
    }
    ++readers.at(prediction);
    std::vector<int> folded_into(steps.size(), -1);  // conv index -> its BN's index
    std::vector<bool> skip(steps.size(), false);
    for (size_t i = 0; i < steps.size(); ++i) {
      const Step& bn = steps[i];
      if (bn.kind != StepKind::kBatchNorm || bn.inputs.empty()) continue;
      const int p = producer.at(bn.inputs[0]);
      if (p < 0 || steps[p].kind != StepKind::kConv || steps[p].relu || readers.at(bn.inputs[0]) != 1) continue;
      folded_into[p] = static_cast<int>(i);
      skip[i] = true;
      folded_conv_of_[i] = p;
    }
    // A slice of a channel shuffle picks its channels from the shuffle's
    // input, and a shuffle that only slices read is not written.
    std::map<size_t, int> shuffle_of_slice;
    std::vector<int> slices_reading(num_values, 0);
    for (size_t i = 0; i < steps.size(); ++i) {
      if (!internal::IsChannelSlice(steps[i])) continue;
      const int p = producer.at(steps[i].inputs[0]);
      if (p < 0 || !internal::IsChannelShuffle(steps[p])) continue;
      shuffle_of_slice[i] = p;
      ++slices_reading.at(steps[i].inputs[0]);
    }
    for (size_t i = 0; i < steps.size(); ++i) {
      if (internal::IsChannelShuffle(steps[i]) && slices_reading.at(steps[i].output) == readers.at(steps[i].output)) {
        skip[i] = true;
      }
    }
    // The step that alone reads each value, if one does.
    std::vector<int> sole_reader(num_values, -1);
    for (size_t i = 0; i < steps.size(); ++i) {
      for (int k : steps[i].inputs) {
        if (readers.at(k) == 1) sole_reader.at(k) = static_cast<int>(i);
      }
    }
    for (size_t i = 0; i < steps.size(); ++i) {
      // Skipped: a folded BN, a shuffle only slices read, or a pool a
      // pixel-group conv emitted with it.
      if (skip[i] || emitted_early_.contains(&steps[i])) continue;
      if (const auto shuffle = shuffle_of_slice.find(i); shuffle != shuffle_of_slice.end()) {
        const Step& from = steps[shuffle->second];
        QG_ASSIGN_OR_RETURN(const std::vector<int64_t> picks, internal::PickedChannels(steps[i], from));
        QG_RETURN_IF_ERROR(EmitChannelPicks(steps[i], picks, from.fn.out_channels, values_.at(from.inputs[0])));
        continue;
      }
      const Step s = folded_into[i] >= 0 ? FoldBatchNormIntoConv(steps[i], steps[folded_into[i]]) : steps[i];
      const int reader = sole_reader.at(s.output);
      QG_RETURN_IF_ERROR(Emit(s, reader >= 0 ? &steps[reader] : nullptr));
    }
    return OkStatus();
  }
  const Value& value(int slot) const { return values_.at(slot); }
  // Step index of each BatchNorm folded into its conv -> the conv's.
  const std::map<size_t, int>& folded_conv_of() const { return folded_conv_of_; }

 private:
  // `sole_reader`: the step that alone reads s's output, if one does.
  Status Emit(const Step& s, const Step* sole_reader) {
    const Value& x = values_.at(s.inputs.empty() ? 0 : s.inputs[0]);
    Value& out = values_.at(s.output);
    auto requantize = [&](std::string y, const QParams& q) -> Status {
      if (s.relu) y = EmitSimple(w_, "Relu", s.name + ":relu", {y});
      QG_ASSIGN_OR_RETURN(out.name, EmitQuantDequant(w_, s.name, y, q));
      out.qparams = q;
      return OkStatus();
    };
    // Same qparams as the input: a Q/DQ pair when the input is quantized.
    auto keep_qparams = [&](std::string y) -> Status {
      if (!x.qparams) {
        out = Value{y, std::nullopt};
        return OkStatus();
      }
      return requantize(std::move(y), *x.qparams);
    };
    switch (s.kind) {
      case StepKind::kQuantizeInput:
        if (s.inputs.empty() || s.inputs[0] == 0) {
          quantized_image_ = s.output;
          quantized_image_qdq_ = s.name;
        }
        return requantize(x.name, s.out);
      case StepKind::kConv:
        if (s.inputs[0] == quantized_image_ && internal::CanGroupPixels(s, image_size_)) {
          const bool pairs = sole_reader != nullptr && internal::PoolsPixelPairs(*sole_reader);
          return EmitPixelGroupConv(s, x, pairs ? sole_reader : nullptr, out);
        }
        if (s.inputs[0] == quantized_image_ && internal::PadsInputChannels(s)) {
          QG_ASSIGN_OR_RETURN(const Value padded, PaddedImage(x, s.qweight.size(1)));
          QG_ASSIGN_OR_RETURN(out, EmitWeighted(internal::WithPaddedInputChannels(s), padded));
          return OkStatus();
        }
        [[fallthrough]];
      case StepKind::kLinear: {
        QG_ASSIGN_OR_RETURN(out, EmitWeighted(s, x));
        return OkStatus();
      }
      case StepKind::kBatchNorm: {
        QG_ASSIGN_OR_RETURN(auto y, EmitBatchNorm(w_, s.name, x.name, s.weight, s.bias, s.bn_mean, s.bn_var, s.eps));
        return requantize(y, s.out);
      }
      case StepKind::kLayerNorm: {
        QG_ASSIGN_OR_RETURN(auto y, EmitChannelLayerNorm(w_, s.name, x.name, s.weight, s.bias, s.eps));
        return requantize(y, s.out);
      }
      case StepKind::kAdd:
        return requantize(EmitSimple(w_, "Add", s.name, {x.name, values_.at(s.inputs[1]).name}), s.out);
      case StepKind::kConcat: {
        std::vector<std::string> parts;
        for (int k : s.inputs) parts.push_back(values_.at(k).name);
        return requantize(EmitConcat(w_, s.name, parts, s.dim), s.out);
      }
      case StepKind::kMaxPool:
        return keep_qparams(EmitMaxPool(w_, s.name, x.name, s.kernel, s.stride, s.padding, s.ceil_mode));
      case StepKind::kAvgPool:
        return keep_qparams(
            EmitAvgPool(w_, s.name, x.name, s.kernel, s.stride, s.padding, s.ceil_mode, s.count_include_pad));
      case StepKind::kAdaptiveAvgPool: {
        QG_ASSIGN_OR_RETURN(auto y, EmitAdaptiveAvgPool(w_, s.name, x.name, s.output_size));
        return keep_qparams(y);
      }
      case StepKind::kFlatten: {
        QG_ASSIGN_OR_RETURN(auto y, EmitFlatten(w_, s.name, x.name, s.dim, s.nhwc));
        return keep_qparams(y);
      }
      case StepKind::kReLU:
        return keep_qparams(EmitSimple(w_, "Relu", s.name, {x.name}));
      case StepKind::kIdentity:
        out = x;
        return OkStatus();
      case StepKind::kMul: {
        models::Node mul{.op = models::Op::kMul};
        QG_ASSIGN_OR_RETURN(auto y, EmitActivation(w_, s.name, mul, {x.name, values_.at(s.inputs[1]).name}));
        return requantize(y, s.out);
      }
      case StepKind::kActivation:
        return EmitInt8Activation(s, x, out);
      case StepKind::kFp32Conv:
      case StepKind::kFp32Linear:
      case StepKind::kFp32BatchNorm:
      case StepKind::kFp32LayerNorm:
      case StepKind::kFp32Op:
        return EmitFp32(s, x, out);
    }
    return Error::Internal("ONNX export: step '{}' has an unknown kind", s.name);
  }

  // An INT8 conv or linear (+ReLU) reading quantized `x`, requantized to its
  // output qparams.
  Result<Value> EmitWeighted(const Step& s, const Value& x) {
    if (!x.qparams) return Error::Internal("ONNX export: INT8 step '{}' reads a float value", s.name);
    QG_ASSIGN_OR_RETURN(auto weight, EmitInt8Weight(w_, s.name, s.qweight));
    std::string bias;
    if (s.bias.defined()) {
      QG_ASSIGN_OR_RETURN(bias, EmitInt32Bias(w_, s.name, s.bias, x.qparams->scale, s.qweight));
    }
    std::string y = s.kind == StepKind::kConv
                        ? EmitConv(w_, s.name, x.name, weight, bias, s.kernel, s.stride, s.padding, s.groups, s.dilation)
                        : EmitGemm(w_, s.name, x.name, weight, bias);
    if (s.relu) y = EmitSimple(w_, "Relu", s.name + ":relu", {y});
    QG_ASSIGN_OR_RETURN(auto q, EmitQuantDequant(w_, s.name, y, s.out));
    return Value{q, s.out};
  }

  // Reshape or Transpose of a quantized value, as a Q/DQ pair with the same
  // qparams, which ONNX Runtime drops (it moves the uint8 tensor as is).
  Result<std::string> EmitMove(const std::string& op, const std::string& name, const std::string& x,
                               const std::vector<int64_t>& dims, const QParams& q) {
    if (op == "Reshape") {
      QG_ASSIGN_OR_RETURN(auto shape, w_.AddInitializer(name + ":shape", torch::tensor(dims)));
      w_.AddNode("Reshape", name, {x, shape}, {name});
    } else {
      auto& t = w_.AddNode("Transpose", name, {x}, {name});
      OnnxGraphWriter::SetInts(t, "perm", dims);
    }
    return EmitQuantDequant(w_, name, name, q);
  }

  // A channel shuffle, or a slice of one, as a 1x1 conv that picks `picks`
  // of x's `channels` (internal/channel_picks.h).
  Status EmitChannelPicks(const Step& s, const std::vector<int64_t>& picks, int64_t channels, const Value& x) {
    if (!x.qparams) return Error::Internal("ONNX export: INT8 step '{}' reads a float value", s.name);
    QG_ASSIGN_OR_RETURN(values_.at(s.output),
                        EmitWeighted(internal::ChannelPickConv(s.name, picks, channels, *x.qparams), x));
    return OkStatus();
  }

  // The quantized image with channels of its zero point up to
  // kConvChannelMultiple: a uint8 Pad between the image's QuantizeLinear and
  // a DequantizeLinear of its own (internal/padded_channels.h), written once.
  Result<Value> PaddedImage(const Value& image, int64_t channels) {
    if (padded_image_) return *padded_image_;
    const std::string& qdq = quantized_image_qdq_;  // EmitQuantDequant's names
    const std::string name = qdq + ":padded";
    QG_ASSIGN_OR_RETURN(
        auto pads,
        w_.AddInitializer(name + ":pads", torch::tensor(std::vector<int64_t>{
                                              0, 0, 0, 0, 0, internal::kConvChannelMultiple - channels, 0, 0})));
    w_.AddNode("Pad", name, {qdq + ":q", pads, qdq + ":zero_point"}, {name});
    w_.AddNode("DequantizeLinear", name + ":dq", {name, qdq + ":scale", qdq + ":zero_point"}, {name + ":dq"});
    padded_image_ = Value{name + ":dq", image.qparams};
    return *padded_image_;
  }

  // The conv over the grayscale image as a conv over groups of pixels: the
  // image [N, 1, H, W] read as NHWC [N, H, W/g, g], and the output, NHWC
  // [N, H', W/g, g * C], read back as [N, H', W, C] and turned to NCHW. ONNX
  // Runtime runs the conv in NHWC, so the Transposes cancel and the reshapes
  // are free. With `pool` (PoolsPixelPairs), the pool runs too, over the
  // output read as pairs of pixels (PixelOrder::kEvenThenOdd), and its output
  // is read back as [N, H'', W/2, C].
  Status EmitPixelGroupConv(const Step& s, const Value& x, const Step* pool, Value& out) {
    constexpr int64_t g = internal::kPixelGroup;
    const int64_t width = image_size_;
    const Step grouped =
        internal::GroupPixels(s, pool ? internal::PixelOrder::kEvenThenOdd : internal::PixelOrder::kInRow);
    const int64_t channels = s.qweight.size(0);
    const int64_t height = image_size_ + 2 * s.padding[0] - s.qweight.size(2) + 1;
    const QParams in = *x.qparams;
    QG_ASSIGN_OR_RETURN(auto pixels,
                        EmitMove("Reshape", s.name + ":pixel_groups", x.name, {-1, image_size_, width / g, g}, in));
    QG_ASSIGN_OR_RETURN(auto nchw, EmitMove("Transpose", s.name + ":pixel_groups_nchw", pixels, {0, 3, 1, 2}, in));
    QG_ASSIGN_OR_RETURN(auto y, EmitWeighted(grouped, Value{nchw, in}));
    QG_ASSIGN_OR_RETURN(auto nhwc, EmitMove("Transpose", s.name + ":grouped_nhwc", y.name, {0, 2, 3, 1}, s.out));
    if (!pool) {
      QG_ASSIGN_OR_RETURN(auto pixels_out,
                          EmitMove("Reshape", s.name + ":pixels_nhwc", nhwc, {-1, height, width, channels}, s.out));
      QG_ASSIGN_OR_RETURN(out.name, EmitMove("Transpose", s.name + ":pixels", pixels_out, {0, 3, 1, 2}, s.out));
      out.qparams = s.out;
      return OkStatus();
    }
    out = y;  // the grouped form; only the pool reads the conv's output
    QG_ASSIGN_OR_RETURN(auto pairs, EmitMove("Reshape", s.name + ":pixel_pairs_nhwc", nhwc,
                                             {-1, height, 2 * width / g, g * channels / 2}, s.out));
    QG_ASSIGN_OR_RETURN(auto pairs_nchw, EmitMove("Transpose", s.name + ":pixel_pairs", pairs, {0, 3, 1, 2}, s.out));
    const std::string pooled =
        EmitMaxPool(w_, pool->name, pairs_nchw, pool->kernel, pool->stride, pool->padding, pool->ceil_mode);
    QG_ASSIGN_OR_RETURN(auto pooled_q, EmitQuantDequant(w_, pool->name, pooled, s.out));
    QG_ASSIGN_OR_RETURN(auto pooled_nhwc,
                        EmitMove("Transpose", pool->name + ":pairs_nhwc", pooled_q, {0, 2, 3, 1}, s.out));
    // N copied (0), the pooled height inferred (-1): [N, H'', W/g, gC/2] read as [N, H'', W/2, C].
    QG_ASSIGN_OR_RETURN(auto pooled_pixels, EmitMove("Reshape", pool->name + ":pixels_nhwc", pooled_nhwc,
                                                     {0, -1, width / 2, channels}, s.out));
    Value& pooled_out = values_.at(pool->output);
    QG_ASSIGN_OR_RETURN(pooled_out.name,
                        EmitMove("Transpose", pool->name + ":pixels", pooled_pixels, {0, 3, 1, 2}, s.out));
    pooled_out.qparams = s.out;
    emitted_early_.insert(pool);
    return OkStatus();
  }

  // An activation on INT8 kernels: the qparams LibTorch's kernel gives its
  // output (the input's, the fixed 1/256 of sigmoids, or the step's own for
  // hard swish), as a Q/DQ pair.
  Status EmitInt8Activation(const Step& s, const Value& x, Value& out) {
    if (!x.qparams) return Error::Internal("ONNX export: INT8 step '{}' reads a float value", s.name);
    if (internal::IsChannelShuffle(s)) return EmitChannelPicks(s, internal::PickedChannels(s), s.fn.out_channels, x);
    QG_ASSIGN_OR_RETURN(auto y, EmitActivation(w_, s.name, s.fn, {x.name}));
    QParams q = *x.qparams;
    if (s.fn.op == models::Op::kSigmoid || s.fn.op == models::Op::kHardSigmoid) q = QParams{1.0 / 256.0, 0};
    if (s.fn.op == models::Op::kHardSwish) q = s.out;
    QG_ASSIGN_OR_RETURN(out.name, EmitQuantDequant(w_, s.name + ":out", y, q));
    out.qparams = q;
    return OkStatus();
  }

  // The ReLU fused into an FP32 step, or its ReLU6 as a Clip. INT8 steps
  // write a Relu alone: their output's range ends at the clamp's bound
  // (convert.cc), so ONNX Runtime's Relu and QuantizeLinear make the clamp.
  Result<std::string> EmitFp32Relu(const Step& s, const std::string& y) {
    if (!std::isfinite(s.relu_max)) return EmitSimple(w_, "Relu", s.name + ":relu", {y});
    models::Node clamp{.op = models::Op::kClamp, .clamp_min = 0.0, .clamp_max = s.relu_max};
    return EmitActivation(w_, s.name + ":relu", clamp, {y});
  }

  // A layer the model keeps in FP32: float in, float out, quantized only
  // when an INT8 step reads it.
  Status EmitFp32(const Step& s, const Value& x, Value& out) {
    std::string y;
    if (s.kind == StepKind::kFp32Op) {
      std::vector<std::string> inputs;
      for (int k : s.inputs) inputs.push_back(values_.at(k).name);
      QG_ASSIGN_OR_RETURN(y, EmitActivation(w_, s.name, s.fn, inputs));
    } else if (s.kind == StepKind::kFp32BatchNorm) {
      QG_ASSIGN_OR_RETURN(y, EmitBatchNorm(w_, s.name, x.name, s.weight, s.bias, s.bn_mean, s.bn_var, s.eps));
    } else if (s.kind == StepKind::kFp32LayerNorm) {
      QG_ASSIGN_OR_RETURN(y, EmitChannelLayerNorm(w_, s.name, x.name, s.weight, s.bias, s.eps));
    } else {
      QG_ASSIGN_OR_RETURN(auto p, AddFloatWeights(w_, s.name, s.weight, s.bias));
      y = s.kind == StepKind::kFp32Conv
              ? EmitConv(w_, s.name, x.name, p.weight, p.bias, s.kernel, s.stride, s.padding, s.groups, s.dilation)
              : EmitGemm(w_, s.name, x.name, p.weight, p.bias);
    }
    if (s.relu) {
      QG_ASSIGN_OR_RETURN(y, EmitFp32Relu(s, y));
    }
    if (!s.quantize_output) {
      out = Value{y, std::nullopt};
      return OkStatus();
    }
    QG_ASSIGN_OR_RETURN(out.name, EmitQuantDequant(w_, s.name + ":out", y, s.out));
    out.qparams = s.out;
    return OkStatus();
  }

  OnnxGraphWriter& w_;
  const int64_t image_size_;
  std::vector<Value> values_;
  int quantized_image_ = -1;  // the value slot of the graph input quantized
  std::string quantized_image_qdq_;      // the name of its Q/DQ pair
  std::optional<Value> padded_image_;    // it padded to kConvChannelMultiple channels
  std::set<const Step*> emitted_early_;  // pools emitted with their pixel-group conv
  std::map<size_t, int> folded_conv_of_;
};

}  // namespace

namespace {

// The export of `model`, logits its first output; `expose` (may be null)
// receives the INT8 values exposed as outputs after it.
Result<onnx::ModelProto> WriteQdq(const quant::QuantizedModel& model, std::vector<ExposedInt8Value>* expose) {
  const auto& meta = model.meta();
  const std::string model_name = meta.value("model_name", "model");
  QG_ASSIGN_OR_RETURN(auto options, models::ModelOptions::FromJson(meta.value("options", nlohmann::json::object())));
  OnnxGraphWriter w(model_name, fmt::format("quantgrid QDQ INT8 export of {} (calibrated for LibTorch {})",
                                            model_name, model.engine()));
  w.SetMetadata("quantgrid.model", model_name);
  w.SetMetadata("quantgrid.precision", model.Fp32Layers().empty() ? "int8" : "mixed");
  w.SetMetadata("quantgrid.engine", model.engine());
  w.AddImageInput(kInputName, options.in_channels, options.image_size, options.image_size);
  QdqExporter exporter(w, options.image_size);
  QG_RETURN_IF_ERROR(exporter.Run(model.steps(), model.num_values(), model.prediction()));
  EmitSimple(w, "Identity", kOutputName, {exporter.value(model.prediction()).name});
  w.AddLogitsOutput(kOutputName, options.num_classes);
  if (expose != nullptr) {
    std::set<std::string> exposed;
    for (size_t i = 0; i < model.steps().size(); ++i) {
      const Step& s = model.steps()[i];
      const std::string& dq = exporter.value(s.output).name;  // "<name>:dq" after a Q/DQ pair
      if (!dq.ends_with(":dq")) continue;
      const std::string q = dq.substr(0, dq.size() - 3) + ":q";
      if (!exposed.insert(q).second) continue;
      w.AddOutput(q, onnx::TensorProto_DataType_UINT8);
      const auto folded = exporter.folded_conv_of().find(i);
      expose->push_back(ExposedInt8Value{s.name, s.output, q,
                                         folded == exporter.folded_conv_of().end() ? -1 : folded->second});
    }
  }
  return w.Release();
}

}  // namespace

Result<onnx::ModelProto> ExportQdq(const quant::QuantizedModel& model) { return WriteQdq(model, nullptr); }

Result<QdqExposingValues> ExportQdqExposingInt8Values(const quant::QuantizedModel& model,
                                                      const std::vector<torch::Tensor>& values) {
  QdqExposingValues out;
  QG_ASSIGN_OR_RETURN(out.model, WriteQdq(model, &out.values));
  // The checker wants every output's shape: the ones shape inference gives,
  // else (a Reshape to a computed shape) LibTorch's with a symbolic batch.
  onnx::ModelProto inferred = out.model;
  try {
    onnx::shape_inference::InferShapes(inferred);
  } catch (const std::exception& e) {
    return Error::Internal("ONNX export: shape inference of the exposed values failed: {}", e.what());
  }
  std::map<std::string, const onnx::TypeProto*> types;
  for (const auto& v : inferred.graph().value_info()) types[v.name()] = &v.type();
  for (const auto& v : inferred.graph().output()) {
    if (v.type().tensor_type().has_shape()) types[v.name()] = &v.type();
  }
  for (auto& output : *out.model.mutable_graph()->mutable_output()) {
    if (output.type().tensor_type().has_shape()) continue;
    if (const auto it = types.find(output.name()); it != types.end()) {
      *output.mutable_type() = *it->second;
      continue;
    }
    const auto exposed = std::find_if(out.values.begin(), out.values.end(),
                                      [&](const ExposedInt8Value& v) { return v.output == output.name(); });
    if (exposed == out.values.end() || static_cast<size_t>(exposed->slot) >= values.size() ||
        !values[exposed->slot].defined() || values[exposed->slot].dim() == 0) {
      return Error::Internal("ONNX export: no shape known for '{}'", output.name());
    }
    auto* shape = output.mutable_type()->mutable_tensor_type()->mutable_shape();
    shape->add_dim()->set_dim_param("batch");
    const torch::Tensor& value = values[exposed->slot];
    for (int64_t d = 1; d < value.dim(); ++d) shape->add_dim()->set_dim_value(value.size(d));
  }
  return out;
}

}  // namespace qg::onnx_export
