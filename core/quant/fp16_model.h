// FP16 inference. On CUDA (built with CUDA LibTorch, device "cuda") weights
// and compute are half. On CPU, LibTorch 1.13 has no half convolution or
// matrix multiply, so the honest CPU variants are:
//   compute "fp32": weights stored as FP16 (the file is half the size; values
//                   rounded to half), computed in FP32 on the compiled path;
//   compute "bf16": weights and compute in bfloat16 (oneDNN), a real 16-bit path.
#pragma once

#include <memory>
#include <string>

#include "core/base/result.h"
#include "core/models/graph_module.h"
#include "core/models/inference_model.h"

namespace qg::quant {

// `model` is not modified. compute: "fp32", "bf16" (CPU) or "fp16" (CUDA).
Result<std::unique_ptr<models::InferenceModel>> MakeHalfModel(const models::GraphModule& model,
                                                               const std::string& device, const std::string& compute);
// A copy of `model` whose parameters and buffers are FP16 (what the file stores).
models::GraphModule HalfCopy(const models::GraphModule& model);

}  // namespace qg::quant
