#include "core/export/export_check.h"

#include <torch/torch.h>

#include <algorithm>
#include <map>

#include "core/base/temp_dir.h"
#include "core/export/onnx_export.h"
#include "core/export/onnx_file.h"
#include "core/metrics/output_diff.h"
#include "core/quant/internal/qstep.h"

namespace qg::onnx_export {
namespace {

ByteDiff CompareBytes(const torch::Tensor& ours, const torch::Tensor& theirs) {
  const torch::Tensor diff = (ours.int_repr().to(torch::kInt) - theirs.to(torch::kInt)).abs();
  if (diff.numel() == 0) return ByteDiff{.equal_percent = 100};
  return ByteDiff{.equal_percent = 100.0 * diff.eq(0).sum().item<double>() / static_cast<double>(diff.numel()),
                  .max_steps = diff.max().item<int64_t>(),
                  .mean_steps = diff.to(torch::kDouble).mean().item<double>()};
}

// Per value slot, the steps beyond rounding by which a step on ONNX
// Runtime's inputs may differ from ONNX Runtime: an input it does not
// expose was computed by LibTorch (its producer's allowance, plus a step for
// its rounding). A folded BN's reference reads its conv's input, not the
// conv's output: it takes the conv's allowance.
std::vector<double> AllowedSteps(const quant::QuantizedModel& model, const QdqExposingValues& exported,
                                 const std::vector<torch::Tensor>& given) {
  std::vector<double> allowed(static_cast<size_t>(model.num_values()), 0.0);
  const auto from_inputs = [&](const quant::internal::Step& s) {
    double a = 0;
    for (int k : s.inputs) {
      if (k != 0 && !given.at(k).defined()) a = std::max(a, allowed.at(k) + 1);
    }
    return a;
  };
  for (const auto& s : model.steps()) allowed.at(s.output) = from_inputs(s);
  for (const auto& v : exported.values) {
    if (v.folded_conv >= 0) allowed.at(v.slot) = from_inputs(model.steps().at(v.folded_conv));
  }
  return allowed;
}

// What the export computes for a BatchNorm folded into its conv, on the
// conv's input: both in float, rounded once to the BN's output qparams.
torch::Tensor FoldedReference(const quant::internal::Step& conv, const quant::internal::Step& bn,
                              const torch::Tensor& input) {
  torch::Tensor y =
      torch::conv2d(input.dequantize(), conv.qweight.dequantize(), conv.bias, {conv.stride[0], conv.stride[1]},
                    {conv.padding[0], conv.padding[1]}, {conv.dilation[0], conv.dilation[1]}, conv.groups);
  y = torch::batch_norm(y, bn.weight, bn.bias, bn.bn_mean, bn.bn_var, /*training=*/false, 0.0, bn.eps,
                        /*cudnn_enabled=*/false);
  if (bn.relu) y = torch::relu(y);
  return at::quantize_per_tensor(y.contiguous(), bn.out.scale, bn.out.zero_point, torch::kQUInt8);
}

Result<ExportCheck> Check(quant::QuantizedModel& model, const QdqExposingValues* given_export, const OnnxRuntime& ort,
                          const torch::Tensor& images, int threads) {
  const std::vector<torch::Tensor> values = model.RunKeepingValues(images);
  QdqExposingValues made;
  if (given_export == nullptr) {
    QG_ASSIGN_OR_RETURN(made, ExportQdqExposingInt8Values(model, values));
  }
  const QdqExposingValues& exported = given_export ? *given_export : made;
  TempDir tmp("quantgrid-export-check-");
  if (tmp.path().empty()) return Error::IOError("cannot create a temporary folder for the export check");
  const std::string path = tmp.File("model_values.onnx");
  QG_RETURN_IF_ERROR(WriteOnnxFile(exported.model, path));
  QG_ASSIGN_OR_RETURN(auto outputs, ort.RunAllOutputs(path, images, threads));
  if (outputs.size() != exported.values.size() + 1) {
    return Error::Internal("ONNX Runtime gave {} outputs, the export has {}", outputs.size(),
                           exported.values.size() + 1);
  }
  std::map<std::string, std::string> kinds;
  for (const auto& [name, kind, int8] : model.DescribeSteps()) kinds[name] = kind;

  ExportCheck check;
  check.images = images.size(0);
  const torch::Tensor logits = values.at(model.prediction());
  check.top1_agreement =
      metrics::CompareOutputs(logits.is_quantized() ? logits.dequantize() : logits, outputs[0].second).top1_agreement;
  // ONNX Runtime's values as LibTorch's quantized tensors (the export's
  // Q/DQ pairs carry the model's own scale and zero point), for each step to
  // run on; a value it does not expose (a conv whose BatchNorm the export
  // folded into it) is computed from its inputs there.
  std::vector<torch::Tensor> theirs_as_inputs(values.size());
  for (size_t i = 0; i < exported.values.size(); ++i) {
    const auto& exposed = exported.values[i];
    const torch::Tensor& ours = values.at(exposed.slot);
    const torch::Tensor& theirs = outputs[i + 1].second;
    ValueAgreement v{.step = exposed.step, .kind = kinds[exposed.step], .elements = theirs.numel()};
    v.comparable = ours.defined() && ours.is_quantized() && ours.qscheme() == torch::kPerTensorAffine &&
                   ours.scalar_type() == torch::kQUInt8 && ours.sizes() == theirs.sizes() &&
                   theirs.scalar_type() == torch::kByte;
    if (v.comparable) {
      v.propagated = CompareBytes(ours, theirs);
      theirs_as_inputs[exposed.slot] =
          at::_make_per_tensor_quantized_tensor(theirs, ours.q_scale(), ours.q_zero_point())
              .contiguous(ours.suggest_memory_format());
    }
    check.values.push_back(std::move(v));
  }
  const std::vector<torch::Tensor> own = model.RunEachStepOn(images, theirs_as_inputs);
  const auto allowed = AllowedSteps(model, exported, theirs_as_inputs);
  const auto& steps = model.steps();
  for (size_t i = 0; i < exported.values.size(); ++i) {
    const auto& exposed = exported.values[i];
    auto& v = check.values[i];
    v.allowed_steps = allowed.at(exposed.slot);
    if (!v.comparable) continue;
    const torch::Tensor& theirs = outputs[i + 1].second;
    if (exposed.folded_conv < 0) {
      v.own = CompareBytes(own.at(exposed.slot), theirs);
      continue;
    }
    const auto& conv = steps.at(exposed.folded_conv);
    const int in = conv.inputs.empty() ? 0 : conv.inputs[0];
    const torch::Tensor& input = theirs_as_inputs.at(in).defined() ? theirs_as_inputs.at(in) : own.at(in);
    const auto bn = std::find_if(steps.begin(), steps.end(), [&](const auto& s) { return s.output == exposed.slot; });
    if (bn == steps.end()) return Error::Internal("export check: no step writes the value of '{}'", exposed.step);
    v.folded_conv = conv.name;
    v.own = CompareBytes(FoldedReference(conv, *bn, input), theirs);
    v.unfolded = CompareBytes(own.at(exposed.slot), theirs);
  }
  return check;
}

// Check, with LibTorch's exception for images the model cannot take as an Error.
Result<ExportCheck> GuardedCheck(quant::QuantizedModel& model, const QdqExposingValues* given_export,
                                 const OnnxRuntime& ort, const torch::Tensor& images, int threads) {
  try {
    return Check(model, given_export, ort, images, threads);
  } catch (const c10::Error& e) {
    return Error::InvalidArgument("export check of {}: {}", model.meta().value("model_name", "model"),
                                  e.what_without_backtrace());
  }
}

}  // namespace

Result<ExportCheck> CheckExportAgainstInt8(quant::QuantizedModel& model, const OnnxRuntime& ort,
                                           const torch::Tensor& images, int threads) {
  return GuardedCheck(model, nullptr, ort, images, threads);
}

Result<ExportCheck> CheckExportedValues(quant::QuantizedModel& model, const QdqExposingValues& exported,
                                        const OnnxRuntime& ort, const torch::Tensor& images, int threads) {
  return GuardedCheck(model, &exported, ort, images, threads);
}

int64_t MaxOwnSteps(const ExportCheck& check) {
  int64_t m = 0;
  for (const auto& v : check.values) {
    if (v.comparable) m = std::max(m, v.own.max_steps);
  }
  return m;
}

const ValueAgreement* FirstDivergence(const ExportCheck& check, int64_t max_steps) {
  for (const auto& v : check.values) {
    if (v.comparable && static_cast<double>(v.own.max_steps) > static_cast<double>(max_steps) + v.allowed_steps) {
      return &v;
    }
  }
  return nullptr;
}

}  // namespace qg::onnx_export
