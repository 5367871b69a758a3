// Quantized engines: the backends LibTorch runs INT8 operators on. Debian's
// LibTorch 1.13 has onednn (x86, VNNI) and qnnpack (mobile-style); fbgemm and
// x86 exist in other builds. Packed weights belong to the engine that was
// current when they were packed, so UseEngine comes before any conversion.
#pragma once

#include <string>
#include <vector>

#include "core/base/result.h"

namespace qg::quant {

// Lower-case names of the engines this LibTorch supports ("onednn", "qnnpack").
std::vector<std::string> SupportedEngines();
// The build's preferred engine: onednn when present, else the first supported.
std::string DefaultEngine();
// Makes `name` current. InvalidArgument listing the supported ones otherwise.
Status UseEngine(const std::string& name);
std::string CurrentEngine();

}  // namespace qg::quant
