#include "core/metrics/latency.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <chrono>

#include "core/base/blas_threads.h"
#include "core/base/build_info.h"
#include "core/base/cuda_check.h"
#include "core/base/torch_call.h"
#if QG_WITH_CUDA
#include <ATen/cuda/CUDAEvent.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace qg::metrics {
namespace {

using SteadyClock = std::chrono::steady_clock;

std::vector<double> TimeOnCpu(models::InferenceModel& model, const torch::Tensor& input, const LatencyOptions& o) {
  const ScopedBlasThreads one_pool(1);  // see core/base/blas_threads.h
  for (int i = 0; i < o.warmup_runs; ++i) model.Predict(input);
  std::vector<double> times;
  const auto budget_end = SteadyClock::now() + std::chrono::duration<double>(o.max_seconds_per_batch_size);
  for (int i = 0; i < o.runs; ++i) {
    const auto t0 = SteadyClock::now();
    model.Predict(input);
    const auto t1 = SteadyClock::now();
    times.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    if (static_cast<int>(times.size()) >= o.min_runs && t1 > budget_end) break;
  }
  return times;
}

#if QG_WITH_CUDA
std::vector<double> TimeOnCuda(models::InferenceModel& model, const torch::Tensor& input, const LatencyOptions& o) {
  for (int i = 0; i < o.warmup_runs; ++i) model.Predict(input);
  torch::cuda::synchronize();
  std::vector<double> times;
  for (int i = 0; i < o.runs; ++i) {
    at::cuda::CUDAEvent start(cudaEventDefault), stop(cudaEventDefault);
    auto stream = c10::cuda::getCurrentCUDAStream();
    start.record(stream);
    model.Predict(input);
    stop.record(stream);
    stop.synchronize();
    times.push_back(start.elapsed_time(stop));
  }
  return times;
}
#endif

}  // namespace

Result<std::vector<LatencyStats>> MeasureLatency(models::InferenceModel& model, const std::vector<int64_t>& input_shape,
                                                 const LatencyOptions& options) {
  if (options.device != "cpu" && options.device != "cuda") {
    return Error::InvalidArgument("latency device '{}' is unknown; known: cpu, cuda", options.device);
  }
  if (options.device == "cuda") QG_RETURN_IF_ERROR(RequireCuda("latency on cuda"));
  std::vector<LatencyStats> all;
  for (int64_t batch : options.batch_sizes) {
    if (batch <= 0) return Error::InvalidArgument("latency batch size {} must be positive", batch);
    std::vector<int64_t> shape{batch};
    shape.insert(shape.end(), input_shape.begin(), input_shape.end());
    QG_ASSIGN_OR_RETURN(auto times, TorchCall(fmt::format("timing batch {}", batch), [&] {
                          torch::manual_seed(1234);
                          auto input = torch::randn(shape);
#if QG_WITH_CUDA
                          if (options.device == "cuda") return TimeOnCuda(model, input.to(torch::kCUDA), options);
#endif
                          return TimeOnCpu(model, input, options);
                        }));
    LatencyStats stats = Summarize(std::move(times), batch);
    stats.threads = at::get_num_threads();
    stats.device = options.device;
    all.push_back(stats);
  }
  return all;
}

}  // namespace qg::metrics
