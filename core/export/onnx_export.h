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

#include "core/base/result.h"
#include "core/models/graph_module.h"
#include "core/quant/quantized_model.h"

namespace qg::onnx_export {

inline constexpr const char* kInputName = "images";
inline constexpr const char* kOutputName = "logits";

Result<onnx::ModelProto> ExportFp32(const models::GraphModule& model);
Result<onnx::ModelProto> ExportQdq(const quant::QuantizedModel& model);
// An FP32 export turned FP16 (export_fp16.cc): float16 initializers and
// compute, float32 input and output through a Cast at each end.
Result<onnx::ModelProto> ToFp16(onnx::ModelProto fp32);

}  // namespace qg::onnx_export
