#include "core/export/ort_timer.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <nlohmann/json.hpp>

#include <boost/process.hpp>
#include <fstream>

#include "core/base/temp_dir.h"
#include "core/export/ort_runtime.h"

namespace qg::onnx_export {

namespace bp = boost::process;

struct OrtTimer::Process {
  TempDir tmp{"quantgrid-ort-"};
  std::string model, err_path;
  int64_t largest_batch = 0;
  int threads = 1;
  bp::opstream in;
  bp::ipstream out;
  bp::child child;

  // The runner's last stderr line: why it stopped, when it did.
  std::string LastError() const {
    std::ifstream err(err_path);
    std::string line, last;
    while (std::getline(err, line)) {
      if (!line.empty()) last = line;
    }
    return last;
  }

  // The runner's next line, checked.
  Result<nlohmann::json> Reply() {
    std::string line;
    while (std::getline(out, line) && line.empty()) {
    }
    if (line.empty()) {
      const std::string why = LastError();
      return Error::Internal("ONNX Runtime runner for {} stopped{}", model, why.empty() ? "" : ": " + why);
    }
    auto reply = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!reply.is_object()) return Error::Internal("ONNX Runtime runner for {}: a reply that is not JSON", model);
    if (!reply.value("ok", false)) {
      return Error::InvalidArgument("ONNX Runtime ({}): {}", model, reply.value("error", std::string("unknown error")));
    }
    return reply;
  }
};

OrtTimer::OrtTimer(std::unique_ptr<Process> p) : p_(std::move(p)) {}

OrtTimer::~OrtTimer() {
  if (!p_) return;
  p_->in.pipe().close();  // end of requests: the runner releases its session and exits
  std::error_code ec;
  p_->child.wait(ec);
}

Result<std::unique_ptr<OrtTimer>> OrtTimer::Open(const OnnxRuntime& ort, const std::string& model_path,
                                                 const std::vector<int64_t>& input_shape, int64_t largest_batch,
                                                 int threads) {
  auto p = std::make_unique<Process>();
  if (p->tmp.path().empty()) return Error::IOError("cannot create a temporary folder for ONNX Runtime's input");
  p->model = model_path;
  p->largest_batch = largest_batch;
  p->threads = threads;
  p->err_path = p->tmp.File("runner.err");
  std::vector<int64_t> shape{largest_batch};
  shape.insert(shape.end(), input_shape.begin(), input_shape.end());
  const std::string input = p->tmp.File("input.f32");
  QG_RETURN_IF_ERROR(OnnxRuntime::WriteLatencyInput(input, shape));
  auto env = boost::this_process::environment();
  env["QG_ORT_MODULES"] = ort.modules_;
  std::error_code ec;
  p->child = bp::child(ort.node_, ort.runner_,
                       bp::args({"--mode", "serve", "--model", model_path, "--input", input, "--shape",
                                 fmt::format("{}", fmt::join(shape, ",")), "--threads", std::to_string(threads)}),
                       env, bp::std_in < p->in, bp::std_out > p->out, bp::std_err > boost::filesystem::path(p->err_path),
                       ec);
  if (ec) return Error::Unavailable("cannot start {}: {}", ort.node_, ec.message());
  std::unique_ptr<OrtTimer> timer(new OrtTimer(std::move(p)));
  QG_ASSIGN_OR_RETURN(auto ready, timer->p_->Reply());
  if (!ready.value("ready", false)) return Error::Internal("ONNX Runtime runner for {} did not say it was ready", model_path);
  return timer;
}

Result<metrics::LatencyStats> OrtTimer::Time(int64_t batch, int warmup, int runs) {
  if (batch < 1 || batch > p_->largest_batch) {
    return Error::InvalidArgument("ONNX Runtime timer for {}: batch {} is outside 1..{}", p_->model, batch,
                                  p_->largest_batch);
  }
  p_->in << nlohmann::json{{"batch", batch}, {"warmup", warmup}, {"runs", runs}}.dump() << std::endl;
  QG_ASSIGN_OR_RETURN(auto reply, p_->Reply());
  const auto times = reply.value("times_ms", std::vector<double>{});
  if (times.empty()) return Error::Internal("ONNX Runtime runner for {} returned no timings", p_->model);
  auto stats = metrics::Summarize(times, batch);
  stats.threads = p_->threads;
  stats.device = "cpu";
  return stats;
}

}  // namespace qg::onnx_export
