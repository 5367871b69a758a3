#include "core/pipeline/torch_runtime.h"

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include <thread>

#include "core/base/cpu_description.h"

namespace qg::pipeline {

int ConfigureThreads(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);
  return at::get_num_threads();
}

std::string DescribeRuntime() {
  return fmt::format("LibTorch {}, {} threads, CPU {}", TORCH_VERSION, at::get_num_threads(), CpuDescription());
}

}  // namespace qg::pipeline
