// quantgrid bench-latency: latency of a model over a batch-size sweep, and with
// --layers where each pass spends it.
#include <fmt/format.h>

#include <algorithm>
#include <memory>

#include "cli/command.h"
#include "core/pipeline/model_source.h"
#include "core/base/text_table.h"
#include "core/metrics/latency.h"
#include "core/metrics/layer_latency.h"
#include "core/models/fp32_inference.h"
#include "core/models/model_io.h"
#include "core/models/model_registry.h"
#include "core/models/model_options.h"
#include "core/pipeline/torch_runtime.h"
#include "core/quant/quantized_model.h"

namespace qg::cli {
namespace {

struct BenchFlags {
  RuntimeFlags runtime;
  std::string model_file;
  onnx_export::ImportOptions import;
  std::string model = "compact_cnn";
  int64_t in_channels = 1;
  int64_t image_size = 28;
  std::vector<int64_t> batch_sizes{1, 8, 64};
  int runs = 50;
  int warmup = 20;
  std::string path = "compiled";
  std::string device = "cpu";
  int layers = 0;
};

using Paths = std::vector<std::pair<std::string, std::unique_ptr<models::InferenceModel>>>;

// The model to time, as the paths the flags ask for, and one image's shape.
struct Subject {
  std::string name;
  std::vector<int64_t> shape;
  Paths paths;
  // What --layers times: the INT8 model itself, or FP32's eager interpreter
  // (the compiled graph runs as one).
  models::InferenceModel* layered = nullptr;
  std::unique_ptr<models::InferenceModel> eager_for_layers;
};

Result<Subject> OpenSubject(const BenchFlags& f) {
  Subject s;
  if (!f.model_file.empty()) {
    QG_ASSIGN_OR_RETURN(const bool int8, pipeline::IsInt8ModelFile(f.model_file));
    if (int8) {
      if (f.path != "compiled") return Error::InvalidArgument("--path {}: INT8 model files have one path", f.path);
      if (f.device != "cpu") {
        return Error::InvalidArgument("--device {}: INT8 model files run on LibTorch's CPU kernels", f.device);
      }
      QG_ASSIGN_OR_RETURN(auto q, quant::QuantizedModel::Load(f.model_file));
      QG_ASSIGN_OR_RETURN(auto opts, models::ModelOptions::FromJson(q->meta().value("options", nlohmann::json())));
      s.name = q->meta().value("model_name", std::string("int8 model"));
      s.shape = {opts.in_channels, opts.image_size, opts.image_size};
      s.layered = q.get();
      s.paths.emplace_back("int8 (" + q->engine() + ")", std::move(q));
      return s;
    }
  }
  models::GraphModule model(nullptr);
  if (!f.model_file.empty()) {
    QG_ASSIGN_OR_RETURN(model, pipeline::LoadAnyModel(f.model_file, f.import));
  } else {
    QG_ASSIGN_OR_RETURN(model, models::CreateModel(f.model, {.in_channels = f.in_channels, .image_size = f.image_size}, 0));
  }
  model->eval();
  const auto& opts = model->meta().options;
  s.name = model->meta().model_name;
  s.shape = {opts.value("in_channels", f.in_channels), opts.value("image_size", f.image_size),
             opts.value("image_size", f.image_size)};
  if (f.path == "compiled" || f.path == "both") {
    QG_ASSIGN_OR_RETURN(auto compiled, models::CompiledFp32Model::Compile(model));
    s.paths.emplace_back("compiled", std::move(compiled));
  }
  if (f.path == "eager" || f.path == "both") s.paths.emplace_back("eager", std::make_unique<models::EagerFp32Model>(model));
  if (s.paths.empty()) return Error::InvalidArgument("--path '{}' is unknown; known: compiled, eager, both", f.path);
  if (f.layers > 0) {
    s.eager_for_layers = std::make_unique<models::EagerFp32Model>(model);
    s.layered = s.eager_for_layers.get();
  }
  return s;
}

// The `top` slowest layers of one pass, the rest summed in one row.
Status PrintLayers(models::InferenceModel& model, const std::vector<int64_t>& shape, int64_t batch, const BenchFlags& f) {
  QG_ASSIGN_OR_RETURN(auto timed, metrics::MeasureLayerLatency(
                                      model, shape, {.batch_size = batch, .warmup_runs = f.warmup, .runs = f.runs}));
  auto layers = timed.layers;
  double sum = 0;
  for (const auto& l : layers) sum += l.ms;
  std::stable_sort(layers.begin(), layers.end(), [](const auto& a, const auto& b) { return a.ms > b.ms; });
  fmt::print("\n{}, batch {}: the {} slowest of {} layers (medians of {} passes; layers {:.3f} ms, whole pass "
             "{:.3f} ms)\n",
             model.Describe(), batch, std::min<size_t>(layers.size(), f.layers), layers.size(), f.runs, sum,
             timed.pass_ms);
  TextTable table({"Layer", "Kind", "ms", "Share (%)"}, {true, true, false, false});
  double rest = 0;
  for (size_t i = 0; i < layers.size(); ++i) {
    if (i >= static_cast<size_t>(f.layers)) {
      rest += layers[i].ms;
      continue;
    }
    table.AddRow({layers[i].layer, layers[i].kind, fmt::format("{:.3f}", layers[i].ms),
                  fmt::format("{:.1f}", sum > 0 ? 100 * layers[i].ms / sum : 0)});
  }
  if (layers.size() > static_cast<size_t>(f.layers)) {
    table.AddRow({fmt::format("({} more)", layers.size() - f.layers), "", fmt::format("{:.3f}", rest),
                  fmt::format("{:.1f}", sum > 0 ? 100 * rest / sum : 0)});
  }
  fmt::print("{}", table.Render(TableFormat::kMarkdown));
  return OkStatus();
}

Status RunBench(const BenchFlags& f) {
  if (f.layers > 0 && f.device != "cpu") return Error::InvalidArgument("--layers times CPU passes only, not --device {}", f.device);
  const int threads = pipeline::ConfigureThreads(f.runtime.threads);
  QG_ASSIGN_OR_RETURN(Subject subject, OpenSubject(f));
  const auto& shape = subject.shape;
  fmt::print("{} {}x{}x{}, {} threads\n", subject.name, shape[0], shape[1], shape[2], threads);
  TextTable table({"Path", "Batch", "Mean (ms)", "Std (ms)", "p50 (ms)", "p95 (ms)", "ms/image", "Runs"}, {true});
  for (auto& [name, m] : subject.paths) {
    QG_ASSIGN_OR_RETURN(auto stats, metrics::MeasureLatency(*m, shape,
                                                            {.batch_sizes = f.batch_sizes,
                                                             .warmup_runs = f.warmup,
                                                             .runs = f.runs,
                                                             .device = f.device}));
    for (const auto& s : stats) {
      table.AddRow({name, fmt::format("{}", s.batch_size), fmt::format("{:.3f}", s.mean_ms),
                    fmt::format("{:.3f}", s.std_ms), fmt::format("{:.3f}", s.p50_ms), fmt::format("{:.3f}", s.p95_ms),
                    fmt::format("{:.4f}", s.ms_per_image), fmt::format("{}", s.runs)});
    }
  }
  fmt::print("{}", table.Render(TableFormat::kMarkdown));
  if (f.layers > 0) {
    for (int64_t batch : f.batch_sizes) QG_RETURN_IF_ERROR(PrintLayers(*subject.layered, shape, batch, f));
  }
  return OkStatus();
}

}  // namespace

void AddBenchLatencyCommand(CLI::App& app, Action& action) {
  auto f = std::make_shared<BenchFlags>();
  CLI::App* cmd = app.add_subcommand("bench-latency", "Latency of a model (file or fresh) over a batch-size sweep");
  AddRuntimeFlags(*cmd, f->runtime);
  cmd->add_option("--model-file", f->model_file, "a model file (FP32, or INT8 from quantgrid quantize) or an ONNX file; without it a fresh --model is timed");
  AddModelInputFlags(*cmd, f->import);
  cmd->add_option("--model", f->model)->capture_default_str();
  cmd->add_option("--in-channels", f->in_channels)->capture_default_str();
  cmd->add_option("--image-size", f->image_size)->capture_default_str();
  cmd->add_option("--batch-sizes", f->batch_sizes)->delimiter(',')->capture_default_str();
  cmd->add_option("--runs", f->runs)->capture_default_str();
  cmd->add_option("--warmup", f->warmup)->capture_default_str();
  cmd->add_option("--path", f->path, "FP32 models: compiled (TorchScript + oneDNN), eager, both")->capture_default_str();
  cmd->add_option("--device", f->device, "cpu or cuda")->capture_default_str();
  cmd->add_option("--layers", f->layers,
                  "also time each layer (CPU) and print the N slowest per batch size; FP32 models time their eager "
                  "interpreter, INT8 model files their own steps")
      ->check(CLI::NonNegativeNumber);
  cmd->callback([f, &action] { action = [f] { return RunBench(*f); }; });
}

}  // namespace qg::cli
