// The ONNX operators both exporters emit, one function per operator family,
// each returning the name of the tensor it produced. The FP32 exporter feeds
// them float tensors; the QDQ exporter feeds them dequantized tensors and
// wraps results in QuantizeLinear/DequantizeLinear pairs (ONNX Runtime's QDQ
// format, which it fuses into QLinearConv and friends).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "core/base/result.h"
#include "core/export/onnx_graph_writer.h"
#include "core/models/graph.h"
#include "core/quant/qparams.h"

namespace qg::onnx_export {

using Pair = std::array<int64_t, 2>;

// Float weight and optional bias (undefined: none) as initializers
// "<name>.weight" / "<name>.bias"; returns their names, "" for no bias.
struct WeightNames {
  std::string weight, bias;
};
Result<WeightNames> AddFloatWeights(OnnxGraphWriter& w, const std::string& name, const torch::Tensor& weight,
                                    const torch::Tensor& bias);

// Conv with `weight` and optional `bias` ("" for none) tensor names.
std::string EmitConv(OnnxGraphWriter& w, const std::string& name, const std::string& x, const std::string& weight,
                     const std::string& bias, const Pair& kernel, const Pair& stride, const Pair& padding,
                     int64_t groups, const Pair& dilation = {1, 1});
// y = x W^T + b, as Gemm(transB=1) on [batch, features].
std::string EmitGemm(OnnxGraphWriter& w, const std::string& name, const std::string& x, const std::string& weight,
                     const std::string& bias);
// Eval-mode batch norm from float tensors (weight, bias, running mean, var).
Result<std::string> EmitBatchNorm(OnnxGraphWriter& w, const std::string& name, const std::string& x,
                                  const torch::Tensor& weight, const torch::Tensor& bias, const torch::Tensor& mean,
                                  const torch::Tensor& var, double eps);
// Layer norm over the channels (axis 1) at each position, decomposed at
// opset 13 (LayerNormalization is opset 17 and normalizes trailing axes).
Result<std::string> EmitChannelLayerNorm(OnnxGraphWriter& w, const std::string& name, const std::string& x,
                                         const torch::Tensor& weight, const torch::Tensor& bias, double eps);
std::string EmitMaxPool(OnnxGraphWriter& w, const std::string& name, const std::string& x, const Pair& kernel,
                        const Pair& stride, const Pair& padding, bool ceil_mode);
std::string EmitAvgPool(OnnxGraphWriter& w, const std::string& name, const std::string& x, const Pair& kernel,
                        const Pair& stride, const Pair& padding, bool ceil_mode, bool count_include_pad);
// Only a 1x1 output (global average pooling) has an ONNX equivalent that does
// not depend on the input size; other sizes are InvalidArgument naming `name`.
Result<std::string> EmitAdaptiveAvgPool(OnnxGraphWriter& w, const std::string& name, const std::string& x,
                                        const Pair& output_size);
// torch.flatten(x, 1); `nhwc` first moves channels last, matching a Linear
// whose weight columns were permuted for channels-last INT8 tensors.
Result<std::string> EmitFlatten(OnnxGraphWriter& w, const std::string& name, const std::string& x, int64_t dim,
                                bool nhwc = false);
// Single-output operators without attributes: Relu, Add, Identity.
std::string EmitSimple(OnnxGraphWriter& w, const std::string& op, const std::string& name,
                       const std::vector<std::string>& inputs);
// The parameter-free ops of imported models (Mul, Clamp, LeakyReLU, Sigmoid,
// HardSigmoid, HardSwish as x * HardSigmoid(x) at opset 13, GELU as
// x * (1 + Erf(x / sqrt 2)) / 2, ChannelShuffle
// as Reshape/Transpose/Reshape); `inputs` are the node's inputs.
Result<std::string> EmitActivation(OnnxGraphWriter& w, const std::string& name, const models::Node& fn,
                                   const std::vector<std::string>& inputs);
std::string EmitConcat(OnnxGraphWriter& w, const std::string& name, const std::vector<std::string>& inputs,
                       int64_t axis);

// QDQ: x -> QuantizeLinear(scale, uint8 zero point) -> DequantizeLinear, what a
// quint8 activation is in ONNX Runtime's QDQ format. Returns the float output,
// "<name>:dq"; the uint8 tensor is "<name>:q", its initializers
// "<name>:scale" and "<name>:zero_point".
Result<std::string> EmitQuantDequant(OnnxGraphWriter& w, const std::string& name, const std::string& x,
                                     const quant::QParams& q);
// An INT8 weight (qint8, per-tensor or per-channel along axis 0) as int8
// initializer + scales + zero points, dequantized. Returns the float output.
Result<std::string> EmitInt8Weight(OnnxGraphWriter& w, const std::string& name, const torch::Tensor& qweight);
// A quantized weight's scales (double) and zero points (long), one per output
// channel (axis 0): per-tensor ones repeated, so that code which rescales or
// regroups channels treats both schemes alike.
struct ChannelQParams {
  torch::Tensor scales, zero_points;
};
ChannelQParams PerOutputChannel(const torch::Tensor& qweight);
// A float bias as int32 with scale input_scale * weight_scale (per channel),
// how QLinearConv wants it; dequantized. Returns the float output.
Result<std::string> EmitInt32Bias(OnnxGraphWriter& w, const std::string& name, const torch::Tensor& bias,
                                  double input_scale, const torch::Tensor& qweight);

}  // namespace qg::onnx_export
