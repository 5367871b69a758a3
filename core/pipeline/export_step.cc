#include "core/pipeline/export_step.h"

#include "core/pipeline/model_source.h"

#include <torch/torch.h>

#include <filesystem>
#include <numeric>

#include "core/base/files.h"
#include "core/base/logging.h"
#include "core/data/transforms.h"
#include "core/export/onnx_export.h"
#include "core/export/onnx_file.h"
#include "core/export/ort_runtime.h"
#include "core/models/fp32_inference.h"
#include "core/models/model_io.h"
#include "core/quant/engine.h"
#include "core/quant/quantized_model.h"

namespace qg::pipeline {

nlohmann::json ExportStepResult::ToJson() const {
  nlohmann::json lat = nlohmann::json::array();
  for (const auto& l : latency) lat.push_back(l.ToJson());
  return {{"onnx_path", onnx_path},   {"format", format},         {"runtime", runtime},
          {"onnx_bytes", onnx_bytes}, {"nodes", nodes},           {"accuracy", accuracy.ToJson()},
          {"latency", lat},           {"vs_libtorch", vs_libtorch.ToJson()}};
}

Result<ExportStepResult> RunExportStep(const ExportStepSpec& spec) {
  QG_ASSIGN_OR_RETURN(auto ort, onnx_export::OnnxRuntime::Find());
  std::filesystem::create_directories(spec.out_dir);
  ExportStepResult result;
  result.runtime = ort.Describe();

  // Export, and keep the LibTorch model to compare against.
  std::unique_ptr<models::InferenceModel> libtorch;
  onnx::ModelProto proto;
  nlohmann::json model_options;
  if (spec.int8) {
    QG_RETURN_IF_ERROR(quant::UseEngine(spec.engine));
    QG_ASSIGN_OR_RETURN(auto int8, quant::QuantizedModel::Load(spec.model_path, spec.engine));
    QG_ASSIGN_OR_RETURN(proto, onnx_export::ExportQdq(*int8));
    result.format = "qdq_int8";
    model_options = int8->meta().value("options", nlohmann::json::object());
    libtorch = std::move(int8);
  } else {
    QG_ASSIGN_OR_RETURN(auto fp32, models::LoadModel(spec.model_path));
    // An FP16 file's weights, widened into a fresh FP32 module (CloneModel
    // copies into float tensors): LibTorch's reference computes in FP32 with
    // the same half-rounded values the FP16 graph stores.
    if (spec.fp16) {
      fp32 = models::CloneModel(fp32);
      fp32->UseChannelsLast();
      fp32->eval();
    }
    QG_ASSIGN_OR_RETURN(proto, onnx_export::ExportFp32(fp32));
    result.format = "fp32";
    if (spec.fp16) {
      QG_ASSIGN_OR_RETURN(proto, onnx_export::ToFp16(std::move(proto)));
      result.format = "fp16";
    }
    model_options = fp32->meta().options;
    libtorch = std::make_unique<models::EagerFp32Model>(fp32);
  }
  QG_ASSIGN_OR_RETURN(auto splits, data::OpenDataset(DatasetForOptions(spec.dataset, model_options)));
  result.nodes = proto.graph().node_size();
  result.onnx_path = (std::filesystem::path(spec.out_dir) / "model.onnx").string();
  QG_RETURN_IF_ERROR(onnx_export::WriteOnnxFile(proto, result.onnx_path));
  QG_ASSIGN_OR_RETURN(result.onnx_bytes, FileSize(result.onnx_path));
  Log("export")->info("{} ONNX, {} nodes, {:.3f} MB: {}", result.format, result.nodes, result.onnx_bytes / 1e6,
                      result.onnx_path);

  // The same test images through both runtimes.
  MeasureOptions reference = spec.measure;
  reference.keep_logits = true;
  reference.latency.batch_sizes.clear();
  QG_ASSIGN_OR_RETURN(auto torch_run, Measure(*libtorch, splits.test, reference, "libtorch reference"));
  const int64_t count = torch_run.logits.size(0);
  const auto& info = splits.test->Info();
  // Chunks of at most ~256 MB of float images, each one runner call.
  const int64_t image_bytes = static_cast<int64_t>(sizeof(float)) * info.channels * info.height * info.width;
  const int64_t chunk = std::max<int64_t>(spec.measure.eval_batch_size, (int64_t{256} << 20) / image_bytes);
  Log("export")->info("ONNX Runtime: evaluating {} test images", count);
  metrics::ClassificationAccumulator acc(torch_run.logits.size(1));
  std::vector<torch::Tensor> ort_logits;
  std::vector<int64_t> shape;
  for (int64_t begin = 0; begin < count; begin += chunk) {
    std::vector<int64_t> indices(std::min(chunk, count - begin));
    std::iota(indices.begin(), indices.end(), begin);
    QG_ASSIGN_OR_RETURN(auto batch, splits.test->Fetch(indices));
    const torch::Tensor images = data::Normalize(batch.images, info.mean, info.std);
    shape.assign(images.sizes().begin() + 1, images.sizes().end());
    QG_ASSIGN_OR_RETURN(auto logits,
                        ort.Predict(result.onnx_path, images, spec.measure.eval_batch_size, spec.threads));
    acc.Add(logits, batch.labels);
    ort_logits.push_back(logits);
  }
  if (ort_logits.empty()) return Error::InvalidArgument("{}: the test split is empty", spec.dataset.name);
  result.accuracy = acc.Report();
  result.vs_libtorch = metrics::CompareOutputs(torch_run.logits, torch::cat(ort_logits));
  Log("export")->info("ONNX Runtime: top-1 {:.2f} %, agreement with LibTorch {:.2f} %, max abs diff {:.3g}",
                      result.accuracy.top1, result.vs_libtorch.top1_agreement, result.vs_libtorch.max_abs);

  if (!spec.measure.latency.batch_sizes.empty()) {
    Log("export")->info("ONNX Runtime: latency at batch sizes {}", nlohmann::json(spec.measure.latency.batch_sizes).dump());
    QG_ASSIGN_OR_RETURN(result.latency, ort.Latency(result.onnx_path, shape, spec.measure.latency, spec.threads));
  }
  QG_RETURN_IF_ERROR(WriteFileAtomic((std::filesystem::path(spec.out_dir) / "result.json").string(),
                                     result.ToJson().dump(2)));
  return result;
}

}  // namespace qg::pipeline
