// Quantized engines: the backends LibTorch runs INT8 operators on. Debian's
// LibTorch 1.13 has onednn (x86, VNNI) and qnnpack (mobile-style); fbgemm and
// x86 exist in other builds. Packed weights belong to the engine that was
// current when they were packed, so UseEngine comes before any conversion.
#pragma once

#include <string>
#include <vector>

#include "core/base/cpu_description.h"
#include "core/base/result.h"

namespace qg::quant {

// Lower-case names of the engines this LibTorch supports ("onednn", "qnnpack").
std::vector<std::string> SupportedEngines();
// Whether `name` is one of SupportedEngines().
bool EngineSupported(const std::string& name);
// The build's preferred engine: onednn when present, else the first supported.
std::string DefaultEngine();
// Makes `name` current. InvalidArgument listing the supported ones otherwise.
Status UseEngine(const std::string& name);
std::string CurrentEngine();

// Whether this CPU multiplies u8 x s8 straight into int32 (core/base/cpu_description.h).
using ::qg::CpuHasVnni;

// Whether `engine`'s u8 x s8 kernels can saturate on this CPU with 8-bit
// weights. Without VNNI (AVX-512 VNNI or AVX-VNNI), oneDNN (and fbgemm/x86)
// multiply with vpmaddubsw, which adds two u8*s8 products into int16 and
// saturates above 32767: 2 * 255 * 127 = 64770. With 7-bit weights (-64..63)
// no pair can, whatever the activations: 2 * 255 * 64 = 32640. qnnpack
// widens to int16 before it multiplies, and never saturates.
bool U8S8PairsSaturate(const std::string& engine);

}  // namespace qg::quant
