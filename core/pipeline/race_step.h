// RaceStep: two models made from the same FP32 model timed against each
// other in alternating rounds on one input (metrics::MeasureLatency with a
// reference), so that their ratio does not move with what the machine did
// between two jobs. A tune settles its winner against its runner-up with it.
#pragma once

#include <string>

#include "core/base/result.h"
#include "core/data/dataset_registry.h"
#include "core/metrics/latency.h"

namespace qg::pipeline {

struct RaceModel {
  std::string path;
  bool int8 = false;  // a QuantizedModel file (INT8 or mixed); else a quantgrid FP32 model file
};

struct RaceStepSpec {
  RaceModel a, b;
  std::string fp32_model_path;  // the FP32 model both came from: it sets the input's shape
  data::DatasetSpec dataset;
  std::string engine = "onednn";
  metrics::LatencyOptions latency;  // one batch size
};

// `a`'s latency stats, with `b` as the reference: reference_p50_ms is b's
// median, speedup_vs_reference b / a (> 1: a is faster).
Result<metrics::LatencyStats> RunRaceStep(const RaceStepSpec& spec);

}  // namespace qg::pipeline
