// Grid expansion: an ExperimentSpec becomes a job DAG.
//   train/seed<S>                                  one per seed
//   quantize/<label>[/<observer>/c<N>/<engine>]/<device>/seed<S>
//                                                  one per strategy x (INT8: observer x
//                                                  calibration size x engine) x device x seed,
//                                                  each waiting for its seed's training job
//   export/<quantize key>                          ONNX export + ONNX Runtime measurement,
//                                                  when export.onnx, for cpu jobs other than
//                                                  fp16 (waits for its quantize job)
// INT8 strategies run on cpu only (LibTorch has no GPU INT8 kernels); fp32 and
// fp16 run on every listed device. Keys and order are stable for a given spec.
//
// Each job's config (experiments/job_config.h) holds everything that affects
// its result; its config hash is SHA-256 of that canonical JSON, which
// includes the hashes of the jobs it depends on and a code version per job
// kind, so retraining invalidates what was quantized from the old weights, and
// a code change that alters results is a version bump in job_config.h.
#pragma once

#include <vector>

#include "core/base/result.h"
#include "experiments/catalog.h"
#include "experiments/job_config.h"
#include "experiments/spec.h"
#include "storage/records.h"

namespace qg::exp {

Result<std::vector<storage::JobRecord>> ExpandGrid(const ExperimentSpec& spec, const Catalog& catalog);

// The quantize job of `config` under `key`, waiting for `train_key`: what
// ExpandGrid makes for each cell (a tune makes more of them as it goes).
storage::JobRecord QuantizeJobOf(const ExperimentSpec& spec, std::string key, const QuantizeConfig& config,
                                 const std::string& train_key);
// A race between two quantize jobs of `spec` (waits for both).
storage::JobRecord RaceJobOf(const ExperimentSpec& spec, std::string key, const RaceConfig& config);

}  // namespace qg::exp
