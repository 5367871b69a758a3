// QStep: one operation of an INT8 model, as the converter builds it and the
// QuantizedModel runs it. Internal to core/quant.
#pragma once

#include <ATen/native/quantized/PackedParams.h>
#include <torch/types.h>

#include <array>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/models/graph.h"
#include "core/quant/qparams.h"

namespace qg::quant::internal {

// oneDNN's packed weights build their fast primitive for the first input shape
// they are applied to, once, and take a slower path for every other shape
// (LibTorch 1.13's call_once cache in OnednnUtils.h): batch 64 ran 7 % slower
// once batch 1 had run on the same packs. The cache's key holds the thread
// count too, and a model measures small batches on one thread and on two
// (core/base/small_batch_threads.h). So on onednn each input shape and thread
// count gets packs of its own, made on first use; past kMaxShapes, the first
// packs serve.
struct PacksByShape {
  static constexpr size_t kMaxShapes = 12;
  struct Packs {
    c10::intrusive_ptr<ConvPackedParamsBase<2>> conv;
    c10::intrusive_ptr<LinearPackedParamsBase> linear;
  };
  struct Entry {
    std::vector<int64_t> shape;
    int threads = 0;  // omp_get_max_threads() of the calls
    Packs packs;
  };
  std::mutex mu;
  std::vector<Entry> entries;  // entries[0] holds the step's own packs
};

enum class StepKind {
  kQuantizeInput,   // float graph input -> quint8
  kConv,            // packed INT8 conv (+ReLU)
  kLinear,          // packed INT8 linear (+ReLU)
  kBatchNorm,       // quantized::batch_norm2d(_relu)
  kAdd,             // quantized::add(_relu)
  kConcat,          // quantized::cat
  kMaxPool,
  kAvgPool,
  kAdaptiveAvgPool,
  kFlatten,
  kReLU,
  kIdentity,
  kFp32Conv,        // a layer kept in FP32: dequantize in, quantize out when read by INT8
  kFp32Linear,
  kFp32BatchNorm,
  kMul,             // quantized::mul (broadcasting)
  kActivation,      // a quantized kernel chosen by `op`: clamp, leaky_relu, sigmoid, hardsigmoid, hardswish,
                    // gelu, channel_shuffle, slice
  kFp32Op,          // an op without an INT8 kernel: dequantize, run it in FP32, quantize when read by INT8
  kLayerNorm,       // quantized::layer_norm over the channels at each position
  kFp32LayerNorm,
};

struct Step {
  StepKind kind = StepKind::kIdentity;
  std::string name;
  std::vector<int> inputs;  // value slots = graph node ids
  int output = -1;
  QParams out;                   // requantizing steps, and FP32 steps with quantize_output
  bool quantize_output = false;  // FP32 steps whose readers need INT8
  bool relu = false;
  // A fused clamp's bound (quant_plan.h's Block::relu_max); infinity for a ReLU.
  double relu_max = std::numeric_limits<double>::infinity();
  std::array<int64_t, 2> kernel{1, 1}, stride{1, 1}, padding{0, 0}, output_size{1, 1};
  bool ceil_mode = false;
  bool count_include_pad = true;
  int64_t dim = 1;
  int64_t groups = 1;
  double eps = 1e-5;
  // Flatten in NHWC order: a free view of the channels-last tensors conv and
  // pooling produce. The Linear that reads it had its weight columns permuted
  // to match at conversion.
  bool nhwc = false;
  // Set by PackWeights: this 3x3 conv over one input channel runs as a 1x1
  // conv over the image's 9 taps (internal/im2col.h), same products and the
  // same requantization. qweight keeps the 3x3 shape for saving and export.
  bool im2col = false;

  // INT8 weights: packed for the engine, and the quantized tensor kept for saving.
  c10::intrusive_ptr<ConvPackedParamsBase<2>> packed_conv;
  c10::intrusive_ptr<LinearPackedParamsBase> packed_linear;
  std::shared_ptr<PacksByShape> packs_by_shape;  // onednn only; shared by copies of the step
  torch::Tensor qweight;  // qint8, per-channel or per-tensor
  torch::Tensor bias;     // float32; undefined when none
  // FP32 layers, BN and layer norm.
  torch::Tensor weight;   // float32
  torch::Tensor bn_mean, bn_var;
  // Imported models: conv dilation, and the node an activation step runs.
  std::array<int64_t, 2> dilation{1, 1};
  models::Node fn;  // kActivation, kFp32Op: op, alpha, beta, clamp bounds, groups

  bool IsInt8() const;
};

const char* StepKindName(StepKind kind);
bool StepKindFromName(const std::string& name, StepKind* kind);

// A 3x3 conv over one input channel, stride 1, no dilation or groups, the
// same padding of 0 or 1 on both axes: the first layer of a grayscale model,
// and the form both internal/im2col.h and internal/conv_pool.h are written for.
bool IsSingleChannel3x3Conv(const Step& step);

// Packs `step.qweight`/`step.bias` for the current engine, deciding
// `step.im2col` first (never when !allow_im2col: benchmarks and tests compare
// the two forms). Throws c10::Error when the engine refuses (e.g. onednn with
// non-zero weight zero points).
void PackWeights(Step& step, bool allow_im2col = true);

// How many input shapes have packs of their own (0 on engines that need none).
size_t PackedShapeCount(const Step& step);

// Runs one step; `values` holds every node's current value.
void RunStep(const Step& step, std::vector<torch::Tensor>& values);

}  // namespace qg::quant::internal
