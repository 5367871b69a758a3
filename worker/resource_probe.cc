#include "worker/resource_probe.h"

#include <sys/sysinfo.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <string>
#include <thread>

#include "core/base/cpu_description.h"

namespace qg::worker {

protocol::Resources ProbeResources() {
  protocol::Resources r;
  r.cpus = std::max(1u, std::thread::hardware_concurrency());
  struct sysinfo info {};
  if (sysinfo(&info) == 0) r.memory_mb = static_cast<int64_t>(info.totalram) * info.mem_unit / (1024 * 1024);
  int gpus = 0;
  std::error_code ec;
  const std::regex device("nvidia[0-9]+");
  for (const auto& entry : std::filesystem::directory_iterator("/dev", ec)) {
    if (std::regex_match(entry.path().filename().string(), device)) ++gpus;
  }
  if (const char* visible = std::getenv("CUDA_VISIBLE_DEVICES"); visible != nullptr) {
    const std::string v = visible;
    const int listed = v.empty() ? 0 : static_cast<int>(std::count(v.begin(), v.end(), ',')) + 1;
    gpus = std::min(gpus, listed);
  }
  r.gpus = gpus;
  r.cpu = CpuDescription();  // an export waits for a worker of the CPU that quantized its model
  return r;
}

}  // namespace qg::worker
