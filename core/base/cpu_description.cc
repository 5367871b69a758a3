#include "core/base/cpu_description.h"

#include <fmt/format.h>

#include <fstream>

namespace qg {
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

// The cpuinfo "cpu family" and the widest vector units: "family 25, AVX2, no VNNI".
std::string CpuFeatures() {
  const std::string family = CpuinfoValue("cpu family", "?");
#if defined(__x86_64__) || defined(__i386__)
  const char* isa = __builtin_cpu_supports("avx512f") ? "AVX-512" : __builtin_cpu_supports("avx2") ? "AVX2" : "SSE";
  return fmt::format("family {}, {}, {}", family, isa, CpuHasVnni() ? "VNNI" : "no VNNI");
#else
  return fmt::format("family {}", family);
#endif
}

}  // namespace

bool CpuHasVnni() {
#if defined(__x86_64__) || defined(__i386__)
  static const bool vnni = __builtin_cpu_supports("avx512vnni") || __builtin_cpu_supports("avxvnni");
  return vnni;
#else
  return false;
#endif
}

std::string CpuDescription() { return fmt::format("{} ({})", CpuinfoValue("model name", "unknown"), CpuFeatures()); }

}  // namespace qg
