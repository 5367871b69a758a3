// quantgrid bench-latency: latency of a model over a batch-size sweep.
#include <fmt/format.h>

#include <memory>

#include "cli/command.h"
#include "core/pipeline/model_source.h"
#include "core/base/text_table.h"
#include "core/metrics/latency.h"
#include "core/models/fp32_inference.h"
#include "core/models/model_io.h"
#include "core/models/model_registry.h"
#include "core/pipeline/torch_runtime.h"

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
};

Status RunBench(const BenchFlags& f) {
  const int threads = pipeline::ConfigureThreads(f.runtime.threads);
  models::GraphModule model(nullptr);
  if (!f.model_file.empty()) {
    QG_ASSIGN_OR_RETURN(model, pipeline::LoadAnyModel(f.model_file, f.import));
  } else {
    QG_ASSIGN_OR_RETURN(model, models::CreateModel(f.model, {.in_channels = f.in_channels, .image_size = f.image_size}, 0));
  }
  model->eval();
  const auto& opts = model->meta().options;
  const std::vector<int64_t> shape{opts.value("in_channels", f.in_channels), opts.value("image_size", f.image_size),
                                   opts.value("image_size", f.image_size)};
  std::vector<std::pair<std::string, std::unique_ptr<models::InferenceModel>>> paths;
  if (f.path == "compiled" || f.path == "both") {
    QG_ASSIGN_OR_RETURN(auto compiled, models::CompiledFp32Model::Compile(model));
    paths.emplace_back("compiled", std::move(compiled));
  }
  if (f.path == "eager" || f.path == "both") paths.emplace_back("eager", std::make_unique<models::EagerFp32Model>(model));
  if (paths.empty()) return Error::InvalidArgument("--path '{}' is unknown; known: compiled, eager, both", f.path);

  fmt::print("{} {}x{}x{}, {} threads\n", model->meta().model_name, shape[0], shape[1], shape[2], threads);
  TextTable table({"Path", "Batch", "Mean (ms)", "Std (ms)", "p50 (ms)", "p95 (ms)", "ms/image", "Runs"}, {true});
  for (auto& [name, m] : paths) {
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
  return OkStatus();
}

}  // namespace

void AddBenchLatencyCommand(CLI::App& app, Action& action) {
  auto f = std::make_shared<BenchFlags>();
  CLI::App* cmd = app.add_subcommand("bench-latency", "Latency of a model (file or fresh) over a batch-size sweep");
  AddRuntimeFlags(*cmd, f->runtime);
  cmd->add_option("--model-file", f->model_file, "a model file or an ONNX file; without it a fresh --model is timed");
  AddModelInputFlags(*cmd, f->import);
  cmd->add_option("--model", f->model)->capture_default_str();
  cmd->add_option("--in-channels", f->in_channels)->capture_default_str();
  cmd->add_option("--image-size", f->image_size)->capture_default_str();
  cmd->add_option("--batch-sizes", f->batch_sizes)->delimiter(',')->capture_default_str();
  cmd->add_option("--runs", f->runs)->capture_default_str();
  cmd->add_option("--warmup", f->warmup)->capture_default_str();
  cmd->add_option("--path", f->path, "compiled (TorchScript + oneDNN), eager, both")->capture_default_str();
  cmd->add_option("--device", f->device, "cpu or cuda")->capture_default_str();
  cmd->callback([f, &action] { action = [f] { return RunBench(*f); }; });
}

}  // namespace qg::cli
