// Export check: an INT8 model's QDQ export run in ONNX Runtime beside the
// model's own LibTorch steps, value by value. Both compute the same quantized
// arithmetic, so a faithful export differs only where the two round
// differently (float requantization against LibTorch's, a float sigmoid
// between Q/DQ pairs): a step of the value's scale on some bytes. Two
// comparisons per value:
//  - whole run: each runtime's own forward pass, so differences that
//    earlier layers made carry into later ones (deep random-weight models
//    amplify a one-step difference layer after layer);
//  - own: the step run on ONNX Runtime's own inputs to it, against ONNX
//    Runtime's output, which isolates the step. A step whose own difference
//    is more than a step or two computes something else: an export bug, or
//    a kernel that differs.
// A BatchNorm the model runs as its own INT8 step (naive_ptq) the export
// folds into its conv, so ONNX Runtime runs one fused conv: its "own"
// reference is the folded arithmetic (the conv and BN in float, rounded
// once), and `unfolded` shows how far LibTorch's separate steps are from it
// (LibTorch rounds the conv's output and clamps it to its calibrated range
// before the BN; with a clipping observer that moves many values).
#pragma once

#include <torch/types.h>

#include <string>
#include <vector>

#include "core/base/result.h"
#include "core/export/onnx_export.h"
#include "core/export/ort_runtime.h"
#include "core/quant/quantized_model.h"

namespace qg::onnx_export {

// Two uint8 tensors of one value, byte by byte.
struct ByteDiff {
  double equal_percent = 0;  // bytes equal
  int64_t max_steps = 0;     // largest |difference|, in steps of the value's scale
  double mean_steps = 0;     // mean |difference|, in steps
};

// One INT8 value (a step's output) on every image.
struct ValueAgreement {
  std::string step;
  std::string kind;  // the step's kind: "conv", "add", "activation", ...
  int64_t elements = 0;
  // False where ONNX Runtime's tensor has another shape (a layout of the
  // export's own, e.g. a pixel-group conv's grouped output): not compared.
  bool comparable = true;
  ByteDiff propagated;
  ByteDiff own;
  // A BatchNorm the export folded into its conv: the conv's name, and
  // LibTorch's conv and BN steps on the same inputs against ONNX Runtime.
  std::string folded_conv;
  ByteDiff unfolded;
  // Steps beyond `within` that `own` may differ by: an input ONNX Runtime
  // does not expose (a pixel-group conv's output) is LibTorch's own, a step
  // or more from ONNX Runtime's.
  double allowed_steps = 0;
};

struct ExportCheck {
  std::vector<ValueAgreement> values;  // in execution order
  double top1_agreement = 0;           // of the logits, %
  int64_t images = 0;
};

// Exports `model` exposing its INT8 values (ExportQdqExposingInt8Values),
// runs `images` (normalized, [N, C, H, W]) through ONNX Runtime in one batch
// and through the model's steps (RunKeepingValues), and compares.
Result<ExportCheck> CheckExportAgainstInt8(quant::QuantizedModel& model, const OnnxRuntime& ort,
                                           const torch::Tensor& images, int threads);

// The same for an export already made (ExportQdqExposingInt8Values of
// `model`), as a test alters it to show what a faulty export looks like.
Result<ExportCheck> CheckExportedValues(quant::QuantizedModel& model, const QdqExposingValues& exported,
                                        const OnnxRuntime& ort, const torch::Tensor& images, int threads);

// The largest own difference over the comparable values, in steps.
int64_t MaxOwnSteps(const ExportCheck& check);

// The first comparable value whose own difference (the step alone) is more
// than `max_steps` plus its allowed_steps, or nullptr.
const ValueAgreement* FirstDivergence(const ExportCheck& check, int64_t max_steps);

}  // namespace qg::onnx_export
