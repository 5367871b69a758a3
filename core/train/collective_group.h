// CollectiveGroup: the c10d class whose collectives (allreduce, broadcast)
// Gloo and NCCL implement. Debian's LibTorch 1.13 derives them from
// ProcessGroup; LibTorch 2 (a GPU machine's PyTorch) derives them from
// Backend, and ProcessGroup became a dispatcher over backends.
#pragma once

#include <torch/version.h>

#if TORCH_VERSION_MAJOR >= 2
#include <torch/csrc/distributed/c10d/Backend.hpp>
namespace qg::train {
using CollectiveGroup = c10d::Backend;
}
#else
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
namespace qg::train {
using CollectiveGroup = c10d::ProcessGroup;
}
#endif
