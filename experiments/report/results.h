// ResultsView: an experiment's stored runs folded into the rows a paper
// prints: one row per strategy (and per grid variant: observer, calibration
// size, engine, device, where those vary), mean and sample std over seeds.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/base/result.h"
#include "core/base/text_table.h"
#include "storage/records.h"
#include "storage/result_store.h"

#include <memory>

namespace qg::exp {

struct Stat {
  double mean = 0;
  double std = 0;  // sample standard deviation; 0 for one value
  int n = 0;
  static Stat Of(const std::vector<double>& values);
};

// "91.56 ± 0.12" over several seeds, "91.56" for one, "-" for none.
std::string FormatStat(const Stat& s, int decimals);

struct ResultRow {
  std::string label;     // "naive_ptq" or "naive_ptq (histogram, qnnpack)"
  std::string strategy;
  std::string device;
  std::string precision;
  // "libtorch", or "onnxruntime" for a grid's ONNX step (label "... [onnxruntime]"),
  // whose Agree column compares with the same model in LibTorch.
  std::string runtime = "libtorch";
  int seeds = 0;
  Stat top1, top5;
  Stat latency_ms;       // per image, median of timed runs, at the view's batch size
  // With measure.replicates: the bootstrap 95 % interval of the p50, per
  // image, averaged over the row's seeds (0, 0 when not measured).
  double latency_ci_low = 0, latency_ci_high = 0;
  Stat size_mb;          // the file as stored
  Stat packed_mb;        // weights below 8 bits packed at their width (n = 0 for 8-bit rows)
  Stat agreement;        // top-1 agreement with FP32, percent
  Stat int8_macs;        // percent of the multiply-adds on INT8 kernels
  // Against the FP32 model on the row's own runtime and device: for LibTorch
  // rows whose every run timed it alternately with its own model
  // (speedup_vs_fp32), the mean of those; else that runtime's FP32 row's
  // latency / this row's, as the same machine timed both (runs on several
  // machines: the mean over runs, each machine's ratio weighted by its runs).
  // 0 without either.
  double speedup_own = 0;
  bool paired_speedup = false;  // which of the two `speedup_own` is
  // Against the fastest FP32 measured on the device by the same machine,
  // whichever runtime that is (ResultsView::fastest_fp32): speedup_own x
  // (fastest FP32 latency / own runtime's FP32 latency). Runs on a machine that
  // timed no FP32 there have none (0 when no run has). The Speedup column of
  // every table.
  double speedup = 0;
  // An FP32 ONNX Runtime row's LibTorch FP32 / ONNX Runtime FP32, timed
  // alternately in its job (mean over seeds; 0 when not measured).
  double libtorch_fp32_over_this = 0;
  // An INT8 ONNX Runtime row's layers whose 8-bit weights its job's CPU
  // saturates (document "saturating_layers", any seed): ONNX Runtime's
  // figures are that CPU's there, and so is its LibTorch reference unless
  // that ran on another engine (reference_engines, document
  // "reference_engine", each once).
  std::vector<std::string> saturating_layers;
  std::vector<std::string> reference_engines;
  // An INT8 ONNX Runtime row's step-by-step check (document
  // "export_step_check", over its seeds): on how many images, the most any
  // step of the export differed from LibTorch's by itself (-1: not checked),
  // and the steps that differed beyond the check's bound, each once.
  int64_t export_check_images = 0;
  int64_t export_step_max = -1;
  int64_t export_check_within = 0;
  std::vector<std::string> export_divergent_steps;
  // The machines its latencies were timed on (TimedOn of each run with a
  // latency, in order, each once; runs stored without a CPU are left out).
  std::vector<std::string> timed_on;
  std::vector<const storage::RunRecord*> runs;
};

// The machine a run timed its latencies on: "AMD EPYC (family 25, AVX2, no
// VNNI), 2 threads", or for a run timed on a GPU "NVIDIA H200 (CUDA)"; "" for
// a run stored without its CPU.
std::string TimedOn(const storage::RunRecord& run);

// The FP32 row every Speedup is quoted against: the fastest FP32 measured on
// a device, across runtimes (LibTorch, ONNX Runtime), by the machine that
// timed the rows: a Speedup does not divide one machine's time by another's.
struct Fp32Baseline {
  std::string device;
  std::string machine;  // TimedOn of its runs ("" for runs stored without their CPU)
  std::string runtime;  // "libtorch" or "onnxruntime"
  std::string label;    // its row, e.g. "fp32 [onnxruntime]"
  double latency_ms = 0;  // per image, at the view's batch size, as `machine` timed it
  bool paired = false;    // chosen by LibTorch and ONNX Runtime FP32 timed alternately in one job
};

struct ResultsView {
  std::string experiment;
  std::string dataset;        // as run, e.g. "synthetic (stand-in for cifar10)"
  std::string stands_in_for;  // the dataset the run replaced, when it ran a stand-in
  std::string model;
  int64_t latency_batch = 0;
  std::vector<ResultRow> rows;
  const storage::RunRecord* train = nullptr;  // the first seed's training run
  std::vector<Fp32Baseline> fastest_fp32;  // per device and machine, in the rows' order
};

// The lines every table, report and reproduction prints under the rows:
// - one per row whose Agree compares with a LibTorch INT8 reference that
//   saturated on its job's CPU (ResultRow::saturating_layers), naming the
//   layers and the remedy;
// - one per INT8 ONNX Runtime row whose export has a step that differs from
//   LibTorch's by itself, naming it; or, where Agree is below 99 % and no
//   step does, saying that the loss is rounding carried through the layers;
// - one when the latencies were timed on more than one machine, naming each
//   machine's rows: a Speedup between them compares machines, not models.
std::vector<std::string> TableNotes(const ResultsView& view);
// "1.5100 ± 0.0600" (p50 and its interval's half-width) for one seed with
// replicates, else FormatStat of the seeds.
std::string FormatLatency(const ResultRow& row, int decimals);

// `runs` must outlive the view. latency_batch 0 picks the largest batch measured.
Result<ResultsView> BuildResults(const storage::ExperimentRecord& experiment, const std::vector<storage::JobRecord>& jobs,
                                 const std::vector<storage::RunRecord>& runs, int64_t latency_batch);

// An experiment's records with the view over them (the view points into runs).
struct LoadedResults {
  storage::ExperimentRecord experiment;
  std::vector<storage::JobRecord> jobs;
  std::vector<storage::RunRecord> runs;
  ResultsView view;
};
// NotFound naming the experiment when the store does not have it.
Result<std::unique_ptr<LoadedResults>> LoadResults(storage::ResultStore& store, const std::string& experiment,
                                                   int64_t latency_batch);

// Strategy | Precision | INT8 MACs (%) | Top-1 (%) | Top-5 (%) | Latency (ms/img, bB) | Speedup | Speedup (own)
// | Size (MB) | Agree (%)
TextTable ResultsTable(const ResultsView& view);

}  // namespace qg::exp
