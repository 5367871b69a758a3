#include "core/pipeline/torch_runtime.h"

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include <fstream>
#include <thread>

#include "core/quant/engine.h"

namespace qg::pipeline {

int ConfigureThreads(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);
  return at::get_num_threads();
}

namespace {

// The value of the first /proc/cpuinfo line starting with `key`, or `fallback`.
std::string CpuinfoValue(const std::string& key, const std::string& fallback) {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key, 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  return fallback;
}

// The cpuinfo "cpu family" and the widest vector units, which decide which
// kernels run (and so every latency figure): "family 25, AVX2, no VNNI".
std::string CpuFeatures() {
  const std::string family = CpuinfoValue("cpu family", "?");
#if defined(__x86_64__) || defined(__i386__)
  const char* isa = __builtin_cpu_supports("avx512f") ? "AVX-512" : __builtin_cpu_supports("avx2") ? "AVX2" : "SSE";
  return fmt::format("family {}, {}, {}", family, isa, quant::CpuHasVnni() ? "VNNI" : "no VNNI");
#else
  return fmt::format("family {}", family);
#endif
}

}  // namespace

std::string CpuDescription() { return fmt::format("{} ({})", CpuinfoValue("model name", "unknown"), CpuFeatures()); }

std::string DescribeRuntime() {
  return fmt::format("LibTorch {}, {} threads, CPU {}", TORCH_VERSION, at::get_num_threads(), CpuDescription());
}

}  // namespace qg::pipeline
