// quantgrid quantize: apply one strategy to a trained model and measure it.
#include <fmt/format.h>

#include <memory>

#include "cli/command.h"
#include "core/base/text_table.h"
#include "core/pipeline/quantize_step.h"
#include "core/pipeline/torch_runtime.h"
#include "core/quant/engine.h"
#include "core/train/console_progress.h"

namespace qg::cli {
namespace {

struct QuantizeFlags {
  RuntimeFlags runtime;
  pipeline::QuantizeStepSpec spec;
  std::vector<std::string> params;  // key=value, value parsed as JSON when it parses
  std::vector<int64_t> batch_sizes{1, 64};
  bool json = false;
};

Result<nlohmann::json> ParseParams(const std::vector<std::string>& kvs) {
  nlohmann::json params = nlohmann::json::object();
  for (const auto& kv : kvs) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) return Error::InvalidArgument("--param '{}': expected key=value", kv);
    const std::string key = kv.substr(0, eq), value = kv.substr(eq + 1);
    auto parsed = nlohmann::json::parse(value, nullptr, false);
    params[key] = parsed.is_discarded() ? nlohmann::json(value) : parsed;
  }
  return params;
}

Status RunQuantize(QuantizeFlags& f) {
  const int threads = pipeline::ConfigureThreads(f.runtime.threads);
  QG_ASSIGN_OR_RETURN(f.spec.params, ParseParams(f.params));
  f.spec.measure.latency.batch_sizes = f.batch_sizes;
  if (f.spec.out_dir.empty()) f.spec.out_dir = fmt::format("runs/quantize/{}_{}", f.spec.strategy, f.spec.engine);
  train::ConsoleProgress progress;
  QG_ASSIGN_OR_RETURN(auto r, pipeline::RunQuantizeStep(f.spec, &progress));
  if (f.json) {
    fmt::print("{}\n", r.ToJson().dump(2));
    return OkStatus();
  }
  std::vector<std::string> header{"Strategy", "Precision", "Top-1 (%)", "Agree (%)", "Size (MB)", "Size ratio"};
  for (const auto& l : r.measured.latency) header.push_back(fmt::format("b{} (ms)", l.batch_size));
  TextTable table(header, {true, true});
  std::vector<std::string> row{r.strategy, r.precision, fmt::format("{:.2f}", r.measured.accuracy.top1),
                               fmt::format("{:.2f}", r.vs_fp32.top1_agreement),
                               fmt::format("{:.3f}", r.model_bytes / 1e6),
                               fmt::format("{:.3f}", static_cast<double>(r.model_bytes) / r.fp32_model_bytes)};
  for (const auto& l : r.measured.latency) row.push_back(fmt::format("{:.3f}", l.mean_ms));
  table.AddRow(row);
  fmt::print("\n{}\n{}\nengine {}, {} threads; model {}\n", table.Render(TableFormat::kMarkdown), r.runtime,
             f.spec.engine, threads, r.model_path);
  return OkStatus();
}

}  // namespace

void AddQuantizeCommand(CLI::App& app, Action& action) {
  auto f = std::make_shared<QuantizeFlags>();
  auto& s = f->spec;
  s.engine = quant::DefaultEngine();
  CLI::App* cmd = app.add_subcommand("quantize", "Apply a quantization strategy to a trained model and measure it");
  AddRuntimeFlags(*cmd, f->runtime);
  cmd->add_option("--model-file", s.fp32_model_path, "the trained FP32 model (quantgrid train), or an ONNX file")
      ->required();
  AddModelInputFlags(*cmd, s.import);
  cmd->add_option("--dataset", s.dataset.name)->capture_default_str();
  cmd->add_option("--data-dir", s.dataset.dir);
  cmd->add_option("--strategy", s.strategy, "fp32, fp16, naive_ptq, bn_fold, bias_correction, cle, adaround, mpq, qat")
      ->capture_default_str();
  cmd->add_option("--param", f->params, "strategy parameter key=value (repeatable), e.g. observer=histogram");
  cmd->add_option("--engine", s.engine, "quantized engine")->capture_default_str();
  cmd->add_option("--device", s.device, "cpu or cuda")->capture_default_str();
  cmd->add_option("--batch-sizes", f->batch_sizes, "latency batch sizes")->delimiter(',')->capture_default_str();
  cmd->add_option("--eval-limit", s.measure.eval_limit, "evaluate only the first N test images");
  cmd->add_option("--seed", s.seed)->capture_default_str();
  cmd->add_option("--out", s.out_dir, "output directory (default runs/quantize/<strategy>_<engine>)");
  cmd->add_flag("--json", f->json, "print the full result as JSON");
  cmd->callback([f, &action] { action = [f] { return RunQuantize(*f); }; });
}

}  // namespace qg::cli
