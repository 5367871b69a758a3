// Speedups: a row's latency against the FP32 that its own machine timed, as
// every table, report, reproduction and baseline file prints it. A latency of
// one machine is never divided by another machine's.
#pragma once

#include <string>

#include "experiments/report/results.h"

namespace qg::exp {

// Fills every row's speedup and speedup_own, and view.fastest_fp32 (see
// ResultRow): each machine's runs against the FP32 that machine timed, first
// against the row's own runtime's FP32, then against the fastest FP32 on its
// device. A row timed on several machines gets the mean over its runs that
// have such a baseline. BuildResults calls it.
void FillSpeedups(ResultsView& view);

// The baseline of the rows `machine` timed on `device`; nullptr when that
// machine timed no FP32 row there.
const Fp32Baseline* FindFastestFp32(const ResultsView& view, const std::string& device, const std::string& machine);

// `base`'s latency / `row`'s, machine by machine: each machine's mean of
// `base` over its mean of `row`, weighted by `row`'s runs there; 0 when no
// machine timed both. Over one machine, the ratio of the rows' latencies.
double SameMachineLatencyRatio(const ResultsView& view, const ResultRow& base, const ResultRow& row);

// "Speedup: vs the fastest FP32 on cpu, onnxruntime (fp32 [onnxruntime]) at
// b64, 3.77 ms per batch. Speedup (own): vs the FP32 model on the row's own
// runtime.", a sentence per device (naming each machine's baseline where
// several timed it); "" when no FP32 row has a latency.
std::string SpeedupCaption(const ResultsView& view);

}  // namespace qg::exp
