#include "core/metrics/latency.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>

#include "core/base/blas_threads.h"
#include "core/base/build_info.h"
#include "core/base/cuda_check.h"
#include "core/base/torch_call.h"
#include "core/metrics/bootstrap.h"
#if QG_WITH_CUDA
#include <ATen/cuda/CUDAEvent.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>
#endif

namespace qg::metrics {
namespace {

using SteadyClock = std::chrono::steady_clock;

// Milliseconds of up to `runs` calls; stops early past `budget_end` once
// `min_runs` are in.
std::vector<double> TimeCalls(models::InferenceModel& model, const torch::Tensor& input, int runs, int min_runs,
                              SteadyClock::time_point budget_end, const Clock& clock) {
  std::vector<double> times;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = clock.SteadyNow();
    model.Predict(input);
    const auto t1 = clock.SteadyNow();
    times.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    if (static_cast<int>(times.size()) >= min_runs && t1 > budget_end) break;
  }
  return times;
}

struct Times {
  std::vector<double> model, reference;
  std::vector<double> round_medians;  // the model's, one per round (replicates)
  double speedup = 0;                 // median over rounds of reference / model round medians
};

Times TimeOnCpu(models::InferenceModel& model, models::InferenceModel* reference, const torch::Tensor& input,
                const LatencyOptions& o) {
  const ScopedBlasThreads one_pool(1);  // see core/base/blas_threads.h
  const Clock& clock = o.clock ? *o.clock : SystemClock::Instance();
  // Models that choose their thread count at small batches on their first
  // calls (core/base/small_batch_threads.h) make that choice in the warm-up,
  // however few warm-up runs were asked for.
  const int64_t batch = input.size(0);
  auto choosing = [&] {
    return model.MeasuringCallsLeft(batch) > 0 || (reference && reference->MeasuringCallsLeft(batch) > 0);
  };
  for (int i = 0; i < o.warmup_runs || (i > 0 && choosing()); ++i) {
    model.Predict(input);
    if (reference) reference->Predict(input);
  }
  const auto budget_end = clock.SteadyNow() + std::chrono::duration_cast<SteadyClock::duration>(
                                                  std::chrono::duration<double>(o.max_seconds_per_batch_size));
  Times t;
  const int rounds = reference ? std::max(kPairedRounds, o.replicates) : std::max(1, o.replicates);
  const int per_round = std::max(1, (o.runs + rounds - 1) / rounds);
  const int min_per_round = std::min(per_round, std::max(1, (o.min_runs + rounds - 1) / rounds));
  std::vector<double> ratios;
  for (int r = 0; r < rounds; ++r) {
    std::vector<double> ref;
    if (reference) ref = TimeCalls(*reference, input, per_round, min_per_round, budget_end, clock);
    const auto own = TimeCalls(model, input, per_round, min_per_round, budget_end, clock);
    t.round_medians.push_back(MedianOf(own));
    if (reference) ratios.push_back(MedianOf(ref) / MedianOf(own));
    t.reference.insert(t.reference.end(), ref.begin(), ref.end());
    t.model.insert(t.model.end(), own.begin(), own.end());
  }
  if (reference) t.speedup = MedianOf(ratios);
  return t;
}

#if QG_WITH_CUDA
// The current GPU's name, as the driver gives it ("NVIDIA H200").
std::string CudaDeviceName() {
  int device = 0;
  cudaDeviceProp properties{};
  if (cudaGetDevice(&device) != cudaSuccess || cudaGetDeviceProperties(&properties, device) != cudaSuccess) {
    return "CUDA device";
  }
  return properties.name;
}

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
                                                 const LatencyOptions& options, models::InferenceModel* reference) {
  if (options.device != "cpu" && options.device != "cuda") {
    return Error::InvalidArgument("latency device '{}' is unknown; known: cpu, cuda", options.device);
  }
  if (reference && options.device != "cpu") {
    return Error::InvalidArgument("latency against a reference model is measured on cpu only, not {}", options.device);
  }
  if (options.device == "cuda") QG_RETURN_IF_ERROR(RequireCuda("latency on cuda"));
  if (options.replicates < 1) return Error::InvalidArgument("latency replicates {} must be >= 1", options.replicates);
  std::string device_name;  // the GPU's, on cuda
#if QG_WITH_CUDA
  if (options.device == "cuda") device_name = CudaDeviceName();
#endif
  std::vector<LatencyStats> all;
  for (int64_t batch : options.batch_sizes) {
    if (batch <= 0) return Error::InvalidArgument("latency batch size {} must be positive", batch);
    std::vector<int64_t> shape{batch};
    shape.insert(shape.end(), input_shape.begin(), input_shape.end());
    QG_ASSIGN_OR_RETURN(auto times, TorchCall(fmt::format("timing batch {}", batch), [&] {
                          torch::manual_seed(1234);
                          auto input = torch::randn(shape);
#if QG_WITH_CUDA
                          if (options.device == "cuda") {
                            return Times{.model = TimeOnCuda(model, input.to(torch::kCUDA), options)};
                          }
#endif
                          return TimeOnCpu(model, reference, input, options);
                        }));
    LatencyStats stats = Summarize(std::move(times.model), batch);
    if (options.replicates > 1) SetReplicates(stats, times.round_medians);
    if (reference) {
      stats.reference_p50_ms = Summarize(std::move(times.reference), batch).p50_ms;
      stats.speedup_vs_reference = times.speedup;
    }
    stats.threads = at::get_num_threads();
    stats.device = options.device;
    stats.device_name = device_name;
    all.push_back(stats);
  }
  return all;
}

}  // namespace qg::metrics
