// qg_bench import: the torchvision fixtures of the import tests (ONNX files
// written by torch.onnx.export, tests/fixtures/make_onnx_models.py), imported
// and timed: import time, then FP32 and INT8 (bn_fold: the BN layers
// folded into their convs, as ONNX Runtime fuses them for FP32; onednn) latency in
// LibTorch beside ONNX Runtime running the same file (FP32) and our QDQ
// export of the INT8 model, at batch 1 and 32. Rounds alternate the runtimes.
#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "bench/bench_timing.h"
#include "bench/verbs.h"
#include "core/base/text_table.h"
#include "core/export/onnx_import.h"
#include "core/export/ort_runtime.h"
#include "core/models/fp32_inference.h"
#include "core/pipeline/export_step.h"
#include "core/pipeline/quantize_step.h"
#include "core/quant/quantized_model.h"

namespace qg::bench {
namespace fs = std::filesystem;

namespace {

[[noreturn]] void Fail(const std::string& what) {
  fmt::print(stderr, "qg_bench import: {}\n", what);
  std::exit(1);
}

std::string Fixture(const Options& o, const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / "qg-import-bench";
  const std::string path = (dir / (name + ".onnx")).string();
  if (fs::exists(path)) return path;
  const std::string script = (fs::path(QG_BENCH_DIR) / ".." / "tests" / "fixtures" / "make_onnx_models.py").string();
  const std::string command = fmt::format("'{}' '{}' '{}' --only {} >&2", o.python, script, dir.string(), name);
  if (std::system(command.c_str()) != 0 || !fs::exists(path)) Fail("could not make " + name + ": " + command);
  return path;
}

}  // namespace

void Import(const Options& o) {
  auto ort = onnx_export::OnnxRuntime::Find();
  if (!ort) Fail(ort.error().ToString());
  at::set_num_threads(o.threads);
  const ScopedBlasThreads one_pool(1);
  fmt::print("import benchmark: torchvision models from torch.onnx.export (opset 13, 3x96x96; convnext: two "
             "small stages, 3x64x64; random weights), {} threads, {} rounds\n{}\n\n",
             o.threads, o.rounds, ort->Describe());
  TextTable table({"model", "import (ms)", "batch", "LibTorch FP32 (ms)", "LibTorch INT8 (ms)", "ORT FP32 (ms)",
                   "ORT QDQ INT8 (ms)", "INT8 vs LibTorch FP32", "INT8 vs ORT FP32", "ORT INT8 vs ORT FP32"},
                  {true, true, true, true, true, true, true, true, true});
  const fs::path work = fs::temp_directory_path() / "qg-import-bench" / "work";
  const std::vector<std::string> all{"resnet18",           "mobilenet_v2",    "squeezenet1_1", "googlenet",
                                     "shufflenet_v2_x0_5", "efficientnet_b0", "convnext"};
  for (const std::string& name : o.models.empty() ? all : o.models) {
    const std::string file = Fixture(o, name);
    std::vector<double> import_ms;
    onnx_export::ImportedModel imported;
    for (int r = 0; r < 3; ++r) {
      const auto start = std::chrono::steady_clock::now();
      auto m = onnx_export::ImportOnnx(file);
      if (!m) Fail(m.error().ToString());
      import_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
      imported = std::move(*m);
    }
    auto fp32 = models::CompiledFp32Model::Compile(imported.model);
    if (!fp32) Fail(fp32.error().ToString());
    const data::DatasetSpec synthetic{.name = "synthetic", .synthetic_train = 128, .synthetic_test = 64};
    auto q = pipeline::RunQuantizeStep({.fp32_model_path = file,
                                        .dataset = synthetic,
                                        .strategy = "bn_fold",
                                        .params = {{"observer", "histogram"}},
                                        .measure = {.latency = {.batch_sizes = {}}},
                                        .out_dir = (work / name / "int8").string(),
                                        .layer_mse_images = 0});
    if (!q) Fail(q.error().ToString());
    auto int8 = quant::QuantizedModel::Load(q->model_path, "onednn");
    if (!int8) Fail(int8.error().ToString());
    auto qdq = pipeline::RunExportStep({.model_path = q->model_path,
                                        .int8 = true,
                                        .dataset = synthetic,
                                        .measure = {.eval_limit = 16, .latency = {.batch_sizes = {}}},
                                        .threads = o.threads,
                                        .out_dir = (work / name / "qdq").string()});
    if (!qdq) Fail(qdq.error().ToString());
    const std::vector<int64_t> shape{imported.in_channels, imported.image_size, imported.image_size};
    for (int64_t batch : {1, 32}) {
      const auto in = torch::randn({batch, shape[0], shape[1], shape[2]});
      std::vector<double> lt_fp32, lt_int8, ort_fp32, ort_int8;
      const int runs = batch == 1 ? o.runs : std::max(10, o.runs / 5);
      auto ort_ms = [&](const std::string& path) {
        auto l = ort->Latency(path, shape, {.batch_sizes = {batch}, .warmup_runs = 5, .runs = runs}, o.threads);
        if (!l) Fail(l.error().ToString());
        return l->front().p50_ms;
      };
      for (int r = 0; r < o.rounds; ++r) {
        lt_fp32.push_back(MedianMs([&] { (*fp32)->Predict(in); }, 5, runs));
        lt_int8.push_back(MedianMs([&] { (*int8)->Predict(in); }, 5, runs));
        ort_fp32.push_back(ort_ms(file));
        ort_int8.push_back(ort_ms(qdq->onnx_path));
      }
      table.AddRow({name, fmt::format("{:.0f}", Median(import_ms)), fmt::format("{}", batch),
                    fmt::format("{:.2f}", Median(lt_fp32)), fmt::format("{:.2f}", Median(lt_int8)),
                    fmt::format("{:.2f}", Median(ort_fp32)), fmt::format("{:.2f}", Median(ort_int8)),
                    fmt::format("{:.2f}x", Median(lt_fp32) / Median(lt_int8)),
                    fmt::format("{:.2f}x", Median(ort_fp32) / Median(lt_int8)),
                    fmt::format("{:.2f}x", Median(ort_fp32) / Median(ort_int8))});
    }
    fmt::print(stderr, "{} done\n", name);
  }
  fmt::print("{}\n(INT8 vs X > 1: LibTorch INT8 is faster than X; ORT INT8 vs ORT FP32 > 1: ONNX Runtime runs quantgrid's QDQ export faster than the imported FP32 file itself)\n",
             table.Render(TableFormat::kMarkdown));
}

}  // namespace qg::bench
