// Data-parallel training over c10d: N processes, one rank each, meet through
// a TCPStore hosted by rank 0 and form a process group: ProcessGroupGloo for
// CPU training, ProcessGroupNCCL for CUDA training (compiled in only with
// CUDA LibTorch; rank r uses GPU local_rank % device count). The
// GradientSync built on it:
//  - rank 0's parameters and buffers are broadcast before the first step;
//  - gradients are flattened into buckets (1 MB first, then 25 MB by default)
//    and all-reduced while backward runs (overlapped_allreduce.h; c10d's
//    Reducer is built for Python, so the bucketing is ours); QG_DDP_OVERLAP=0
//    all-reduces them after backward instead;
//  - SyncBatchNorm (optional, on by default): batch statistics are summed
//    over ranks with a differentiable all-reduce, so N ranks with batch B/N
//    train exactly like one process with batch B.
//
// Where a rank learns its place (DistributedConfigFromEnv), first match wins:
//   QG_RANK, QG_WORLD_SIZE [, QG_MASTER_ADDR, QG_MASTER_PORT]   quantgrid's own launcher
//   OMPI_COMM_WORLD_RANK, OMPI_COMM_WORLD_SIZE                  mpirun (Open MPI)
//   SLURM_PROCID, SLURM_NTASKS                                  srun / sbatch
// Without QG_MASTER_ADDR the store is on 127.0.0.1 (mpirun) or
// SLURM_LAUNCH_NODE_IPADDR (Slurm); without QG_MASTER_PORT the port is
// derived from the launcher's job id so every rank picks the same one, in
// 20000-31999, below the ports the kernel hands out to outgoing connections.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "core/base/result.h"
#include "core/train/gradient_sync.h"

namespace qg::train {

struct DistributedConfig {
  int rank = 0;
  int world_size = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  int local_rank = 0;    // rank on this node (picks the GPU)
  std::string launcher;  // "quantgrid", "mpirun", "slurm"
  bool sync_batchnorm = true;
  int64_t bucket_bytes = 25 << 20;
  bool overlap_backward = true;  // all-reduce buckets while backward runs
  int timeout_s = 120;
};

// The config this process was launched with, or nothing for a single
// process (QG_WORLD_SIZE=1 still forms a group of one, e.g. to try NCCL on
// one GPU). InvalidArgument for inconsistent variables (rank >= world size).
Result<std::optional<DistributedConfig>> DistributedConfigFromEnv();

// Joins the group (blocks until every rank has joined or the timeout): Gloo
// for `device` "cpu", NCCL for "cuda". Unavailable when the rendezvous
// fails; FailedPrecondition for cuda without CUDA LibTorch or a visible GPU.
Result<std::unique_ptr<GradientSync>> ConnectProcessGroup(const DistributedConfig& config,
                                                          const std::string& device = "cpu");

}  // namespace qg::train
