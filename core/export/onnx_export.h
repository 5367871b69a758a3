// ONNX export of quantgrid models: opset 13, input "images" [batch, C, H, W]
// and output "logits" [batch, classes] with a symbolic batch axis.
//  - ExportFp32 walks an FP32 GraphModule's graph (BatchNorm stays a
//    BatchNormalization node unless the model was folded).
//  - ExportQdq walks a QuantizedModel's steps and writes ONNX Runtime's QDQ
//    format: every quint8 value is a QuantizeLinear/DequantizeLinear pair with
//    the model's own scale and zero point, INT8 weights are int8 initializers
//    with per-channel scales, biases int32 at input_scale * weight_scale, and
//    layers the model keeps in FP32 stay float. PyTorch 1.13's exporter
//    cannot export quantized models at all.
//  - ToFp16 turns an FP32 export into half precision.
// A layer with no ONNX equivalent is InvalidArgument naming it.
#pragma once

#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

#include "core/base/result.h"
#include "core/models/graph_module.h"
#include "core/quant/quantized_model.h"

namespace qg::onnx_export {

inline constexpr const char* kInputName = "images";
inline constexpr const char* kOutputName = "logits";

Result<onnx::ModelProto> ExportFp32(const models::GraphModule& model);
Result<onnx::ModelProto> ExportQdq(const quant::QuantizedModel& model);
// The QDQ export with the uint8 tensor of every quantized step output (INT8
// layers, pools, moves, the quantized image) also a graph output (the QuantizeLinear's output, so ONNX Runtime fuses the graph
// as it fuses ExportQdq's), for comparing the export with LibTorch value by
// value (export_check.h). Steps that share a tensor expose it once.
struct ExposedInt8Value {
  std::string step;    // the QuantizedModel step that writes it
  int slot = 0;        // its value slot (RunKeepingValues' index)
  std::string output;  // the graph output's name
  // A BatchNorm the export folded into its conv: the conv's step index (the
  // value is the folded conv's output, the conv's own never rounded or
  // clamped to its range); else -1.
  int folded_conv = -1;
};
struct QdqExposingValues {
  onnx::ModelProto model;
  std::vector<ExposedInt8Value> values;
};
// `values` (RunKeepingValues') give the shapes of outputs that ONNX shape
// inference leaves open.
Result<QdqExposingValues> ExportQdqExposingInt8Values(const quant::QuantizedModel& model,
                                                      const std::vector<torch::Tensor>& values);
// An FP32 export turned FP16 (export_fp16.cc): float16 initializers and
// compute, float32 input and output through a Cast at each end.
Result<onnx::ModelProto> ToFp16(onnx::ModelProto fp32);

}  // namespace qg::onnx_export
