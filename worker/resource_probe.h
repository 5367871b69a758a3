// What this machine offers a coordinator: CPU cores, memory, NVIDIA GPUs and
// which CPU it is.
// GPUs are counted from /dev/nvidiaN device nodes (respecting
// CUDA_VISIBLE_DEVICES), so a CPU-only build still advertises a GPU box
// correctly; flags on `quantgrid worker` override every field.
#pragma once

#include "coordinator/protocol/messages.h"

namespace qg::worker {

protocol::Resources ProbeResources();

}  // namespace qg::worker
