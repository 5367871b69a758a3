// RequireCuda: whether CUDA work can run here, with one message for every
// option that asks for it (training, NCCL, latency, fp16). Header-only and
// included only by targets that link LibTorch, like torch_call.h.
#pragma once

#include <torch/cuda.h>

#include <string_view>

#include "core/base/build_info.h"
#include "core/base/result.h"

namespace qg {

// FailedPrecondition "<what> asked for, but this build's LibTorch has no CUDA"
// (or "... no CUDA device is visible") when CUDA cannot run here.
inline Status RequireCuda(std::string_view what) {
  if (QG_WITH_CUDA && torch::cuda::is_available()) return OkStatus();
  return Error::FailedPrecondition("{} asked for, but {}", what,
                                   QG_WITH_CUDA ? "no CUDA device is visible" : "this build's LibTorch has no CUDA");
}

}  // namespace qg
