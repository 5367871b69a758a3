#include "core/export/ort_runtime.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <stdlib.h>
#include <torch/torch.h>

#include <boost/process.hpp>
#include <filesystem>
#include <fstream>

#include "core/base/build_info.h"
#include "core/base/files.h"
#include "core/base/temp_dir.h"
#include "core/metrics/bootstrap.h"

namespace qg::onnx_export {
namespace {

namespace bp = boost::process;
namespace fs = std::filesystem;

Status WriteFloats(const std::string& path, const torch::Tensor& t) {
  const torch::Tensor c = t.to(torch::kFloat).contiguous();
  return WriteFileAtomic(path, std::string_view(static_cast<const char*>(c.data_ptr()), c.numel() * sizeof(float)));
}

std::string ShapeArg(const torch::Tensor& t) { return fmt::format("{}", fmt::join(t.sizes(), ",")); }

}  // namespace

Result<OnnxRuntime> OnnxRuntime::Find() {
  const auto node = bp::search_path("node");
  if (node.empty()) return Error::FailedPrecondition("ONNX Runtime needs Node.js: 'node' is not on PATH (apt install nodejs)");
  const char* env_runner = std::getenv("QG_ORT_RUNNER");
  const std::string runner = env_runner ? env_runner : fmt::format("{}/core/export/ort_runner.js", kSourceDir);
  if (!fs::exists(runner)) return Error::FailedPrecondition("ONNX Runtime runner {} is missing", runner);
  const char* env_modules = std::getenv("QG_ORT_MODULES");
  const std::string modules = env_modules ? env_modules : fmt::format("{}/deploy/ort/node_modules", kSourceDir);
  if (!fs::exists(fs::path(modules) / "onnxruntime-node")) {
    return Error::FailedPrecondition(
        "ONNX Runtime is not installed: {}/onnxruntime-node is missing (run deploy/setup.sh, which installs npm "
        "onnxruntime-node into deploy/ort)",
        modules);
  }
  OnnxRuntime ort(node.string(), runner, modules);
  auto package = ReadFile((fs::path(modules) / "onnxruntime-node" / "package.json").string());
  if (package) {
    auto j = nlohmann::json::parse(*package, nullptr, /*allow_exceptions=*/false);
    if (j.is_object()) ort.version_ = j.value("version", "");
  }
  return ort;
}

Status OnnxRuntime::WriteOptimizedGraph(const std::string& model_path, const std::string& out_path,
                                        int threads) const {
  QG_ASSIGN_OR_RETURN(auto reply, RunRunner({"--mode", "info", "--model", model_path, "--threads",
                                             std::to_string(threads), "--optimized-out", out_path}));
  (void)reply;
  if (!fs::exists(out_path)) {
    return Error::Internal("ONNX Runtime did not write its optimized graph of {} to {}", model_path, out_path);
  }
  return OkStatus();
}

std::string OnnxRuntime::Describe() const {
  return fmt::format("ONNX Runtime {} (npm onnxruntime-node, CPU execution provider)", version_);
}

Result<nlohmann::json> OnnxRuntime::RunRunner(const std::vector<std::string>& args) const {
  bp::ipstream out;
  bp::ipstream err;
  auto env = boost::this_process::environment();
  env["QG_ORT_MODULES"] = modules_;
  std::error_code ec;
  bp::child child(node_, runner_, bp::args(args), env, bp::std_out > out, bp::std_err > err, ec);
  if (ec) return Error::Unavailable("cannot start {}: {}", node_, ec.message());
  std::string last, line, err_text;
  while (std::getline(out, line)) {
    if (!line.empty()) last = line;
  }
  while (std::getline(err, line)) err_text = line;  // keep the last line: the error
  child.wait();
  auto reply = nlohmann::json::parse(last, nullptr, /*allow_exceptions=*/false);
  if (!reply.is_object()) {
    return Error::Internal("ONNX Runtime runner exited with {} and no reply{}", child.exit_code(),
                           err_text.empty() ? "" : ": " + err_text);
  }
  if (!reply.value("ok", false)) {
    return Error::InvalidArgument("ONNX Runtime: {}", reply.value("error", std::string("unknown error")));
  }
  return reply;
}

Result<torch::Tensor> OnnxRuntime::Predict(const std::string& model_path, const torch::Tensor& images,
                                           int64_t batch_size, int threads) const {
  TempDir tmp("quantgrid-ort-");
  if (tmp.path().empty()) return Error::IOError("cannot create a temporary folder in {}", fs::temp_directory_path().string());
  const std::string in = tmp.File("input.f32"), out = tmp.File("output.f32");
  QG_RETURN_IF_ERROR(WriteFloats(in, images));
  QG_ASSIGN_OR_RETURN(auto reply, RunRunner({"--mode", "predict", "--model", model_path, "--input", in, "--shape",
                                             ShapeArg(images), "--batch", std::to_string(batch_size), "--output", out,
                                             "--threads", std::to_string(threads)}));
  const int64_t rows = reply.value("rows", int64_t{0}), cols = reply.value("cols", int64_t{0});
  QG_ASSIGN_OR_RETURN(std::string bytes, ReadFile(out));
  if (rows != images.size(0) || static_cast<int64_t>(bytes.size()) != rows * cols * 4) {
    return Error::Internal("ONNX Runtime returned {} bytes for {} x {} logits", bytes.size(), rows, cols);
  }
  torch::Tensor logits = torch::empty({rows, cols}, torch::kFloat);
  std::memcpy(logits.data_ptr(), bytes.data(), bytes.size());
  return logits;
}

Result<std::vector<std::pair<std::string, torch::Tensor>>> OnnxRuntime::RunAllOutputs(const std::string& model_path,
                                                                                   const torch::Tensor& images,
                                                                                   int threads) const {
  TempDir tmp("quantgrid-ort-");
  if (tmp.path().empty()) return Error::IOError("cannot create a temporary folder in {}", fs::temp_directory_path().string());
  const std::string in = tmp.File("input.f32"), prefix = tmp.File("output.");
  QG_RETURN_IF_ERROR(WriteFloats(in, images));
  QG_ASSIGN_OR_RETURN(auto reply, RunRunner({"--mode", "outputs", "--model", model_path, "--input", in, "--shape",
                                             ShapeArg(images), "--output-prefix", prefix, "--threads",
                                             std::to_string(threads)}));
  std::vector<std::pair<std::string, torch::Tensor>> outputs;
  for (const auto& entry : reply.value("outputs", nlohmann::json::array())) {
    const auto name = entry.at("name").get<std::string>();
    const auto dims = entry.at("dims").get<std::vector<int64_t>>();
    const bool bytes_out = entry.at("type").get<std::string>() == "uint8";
    torch::Tensor t = torch::empty(dims, bytes_out ? torch::kByte : torch::kFloat);
    QG_ASSIGN_OR_RETURN(std::string bytes, ReadFile(prefix + std::to_string(outputs.size())));
    if (bytes.size() != t.nbytes()) {
      return Error::Internal("ONNX Runtime wrote {} bytes for output '{}' of shape [{}]", bytes.size(), name,
                             fmt::join(dims, ", "));
    }
    std::memcpy(t.data_ptr(), bytes.data(), bytes.size());
    outputs.emplace_back(name, std::move(t));
  }
  return outputs;
}

Status OnnxRuntime::WriteLatencyInput(const std::string& path, const std::vector<int64_t>& shape) {
  torch::manual_seed(1234);  // the fixed input MeasureLatency times
  return WriteFloats(path, torch::randn(shape));
}

Result<std::vector<metrics::LatencyStats>> OnnxRuntime::Latency(const std::string& model_path,
                                                                const std::vector<int64_t>& input_shape,
                                                                const metrics::LatencyOptions& options, int threads,
                                                                const std::string& reference_path) const {
  if (options.batch_sizes.empty()) return std::vector<metrics::LatencyStats>{};
  TempDir tmp("quantgrid-ort-");
  if (tmp.path().empty()) return Error::IOError("cannot create a temporary folder in {}", fs::temp_directory_path().string());
  const int64_t largest = *std::max_element(options.batch_sizes.begin(), options.batch_sizes.end());
  std::vector<int64_t> shape{largest};
  shape.insert(shape.end(), input_shape.begin(), input_shape.end());
  const std::string in = tmp.File("input.f32");
  QG_RETURN_IF_ERROR(WriteLatencyInput(in, shape));
  std::vector<std::string> args{"--mode",    "latency",
                                "--model",   model_path,
                                "--input",   in,
                                "--shape",   fmt::format("{}", fmt::join(shape, ",")),
                                "--batch-sizes", fmt::format("{}", fmt::join(options.batch_sizes, ",")),
                                "--warmup",  std::to_string(options.warmup_runs),
                                "--runs",    std::to_string(options.runs),
                                "--threads", std::to_string(threads)};
  if (!reference_path.empty()) {
    args.insert(args.end(), {"--reference", reference_path, "--rounds",
                             std::to_string(std::max(metrics::kPairedRounds, options.replicates))});
  }
  QG_ASSIGN_OR_RETURN(auto reply, RunRunner(args));
  std::vector<metrics::LatencyStats> stats;
  for (const auto& entry : reply.at("latency")) {
    const auto times = entry.at("times_ms").get<std::vector<double>>();
    if (times.empty()) return Error::Internal("ONNX Runtime returned no timings");
    auto s = metrics::Summarize(times, entry.at("batch_size").get<int64_t>());
    if (options.replicates > 1 && times.size() >= static_cast<size_t>(options.replicates)) {
      // The runs in `replicates` consecutive rounds, as MeasureLatency splits them.
      std::vector<double> medians;
      const size_t per_round = times.size() / static_cast<size_t>(options.replicates);
      for (size_t r = 0; r < static_cast<size_t>(options.replicates); ++r) {
        const auto first = times.begin() + static_cast<std::ptrdiff_t>(r * per_round);
        medians.push_back(metrics::MedianOf({first, first + static_cast<std::ptrdiff_t>(per_round)}));
      }
      metrics::SetReplicates(s, medians);
    }
    if (entry.contains("reference_times_ms") && entry.contains("round_ratios")) {
      const auto reference = entry.at("reference_times_ms").get<std::vector<double>>();
      const auto ratios = entry.at("round_ratios").get<std::vector<double>>();
      if (!reference.empty() && !ratios.empty()) {
        s.reference_p50_ms = metrics::Summarize(reference, s.batch_size).p50_ms;
        s.speedup_vs_reference = metrics::MedianOf(ratios);
      }
    }
    s.threads = threads;
    s.device = "cpu";
    stats.push_back(s);
  }
  return stats;
}

}  // namespace qg::onnx_export
