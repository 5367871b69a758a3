// ResultsView: an experiment's stored runs folded into the rows a paper
// prints: one row per strategy (and per grid variant: observer, calibration
// size, engine, device, where those vary), mean and sample std over seeds.
#pragma once

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
  Stat size_mb;          // the file as stored
  Stat packed_mb;        // weights below 8 bits packed at their width (n = 0 for 8-bit rows)
  Stat agreement;        // top-1 agreement with FP32, percent
  Stat int8_macs;        // percent of the multiply-adds on INT8 kernels
  // Against the LibTorch FP32 model on the same device: where every run of the
  // row timed it alternately with its own model (speedup_vs_fp32), the mean of
  // those; else the FP32 row's latency / this row's. 0 without either.
  double speedup = 0;
  bool paired_speedup = false;  // which of the two `speedup` is
  std::vector<const storage::RunRecord*> runs;
};

struct ResultsView {
  std::string experiment;
  std::string dataset;        // as run, e.g. "synthetic (stand-in for cifar10)"
  std::string stands_in_for;  // the dataset the run replaced, when it ran a stand-in
  std::string model;
  int64_t latency_batch = 0;
  std::vector<ResultRow> rows;
  const storage::RunRecord* train = nullptr;  // the first seed's training run
};

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

// Strategy | Precision | INT8 MACs (%) | Top-1 (%) | Top-5 (%) | Latency (ms/img, bB) | Speedup | Size (MB) | Agree (%)
TextTable ResultsTable(const ResultsView& view);

}  // namespace qg::exp
