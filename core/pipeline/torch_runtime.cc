#include "core/pipeline/torch_runtime.h"

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include <fstream>
#include <thread>

namespace qg::pipeline {

int ConfigureThreads(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);
  return at::get_num_threads();
}

std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  return "unknown";
}

std::string DescribeRuntime() {
  return fmt::format("LibTorch {}, {} threads, CPU {}", TORCH_VERSION, at::get_num_threads(), CpuModel());
}

}  // namespace qg::pipeline
