#include "core/quant/engine.h"

#include <ATen/Context.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace qg::quant {
namespace {

std::string EngineName(at::QEngine e) {
  switch (e) {
    case at::QEngine::FBGEMM:
      return "fbgemm";
    case at::QEngine::QNNPACK:
      return "qnnpack";
    case at::QEngine::ONEDNN:
      return "onednn";
    case at::QEngine::X86:
      return "x86";
    default:
      return "none";
  }
}

}  // namespace

std::vector<std::string> SupportedEngines() {
  std::vector<std::string> names;
  for (auto e : at::globalContext().supportedQEngines()) {
    if (e != at::QEngine::NoQEngine) names.push_back(EngineName(e));
  }
  std::sort(names.begin(), names.end());
  return names;
}

bool EngineSupported(const std::string& name) {
  const auto names = SupportedEngines();
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::string DefaultEngine() {
  if (EngineSupported("onednn")) return "onednn";
  const auto names = SupportedEngines();
  return names.empty() ? "none" : names.front();
}

Status UseEngine(const std::string& name) {
  for (auto e : at::globalContext().supportedQEngines()) {
    if (e != at::QEngine::NoQEngine && EngineName(e) == name) {
      at::globalContext().setQEngine(e);
      return OkStatus();
    }
  }
  return Error::InvalidArgument("quantization engine '{}' is not in this LibTorch build; supported: {}", name,
                                fmt::join(SupportedEngines(), ", "));
}

bool U8S8PairsSaturate(const std::string& engine) {
#if defined(__x86_64__) || defined(__i386__)
  return !CpuHasVnni() && (engine == "onednn" || engine == "fbgemm" || engine == "x86");
#else
  (void)engine;
  return false;
#endif
}

std::string CurrentEngine() { return EngineName(at::globalContext().qEngine()); }

}  // namespace qg::quant
