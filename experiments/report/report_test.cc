#include <gtest/gtest.h>

#include "experiments/job_config.h"
#include "experiments/report/html_report.h"
#include "experiments/report/layer_sizes.h"
#include "experiments/report/regression.h"
#include "experiments/report/reproduce.h"
#include "experiments/report/results.h"
#include "experiments/report/speedups.h"
#include "storage/sqlite_result_store.h"
#include "tests/testing/results_fixtures.h"

namespace qg::exp {
namespace {

TEST(Results, RowsAggregateSeedsWithMeanAndSampleStd) {
  auto store = *storage::SqliteResultStore::Open(":memory:");
  const auto loaded = Fixture(*store);
  const auto& v = loaded->view;
  ASSERT_EQ(v.rows.size(), 2u);
  EXPECT_EQ(v.rows[1].label, "naive_ptq");
  EXPECT_EQ(v.rows[1].seeds, 2);
  EXPECT_DOUBLE_EQ(v.rows[1].top1.mean, 91.0);
  EXPECT_NEAR(v.rows[1].top1.std, 0.7071068, 1e-6);
  EXPECT_NEAR(v.rows[1].latency_ms.mean, 1.1 / 64, 1e-12);
  EXPECT_NEAR(v.rows[1].speedup, 4.2 / 1.1, 1e-9);
  EXPECT_EQ(v.model, "compact_cnn");
}

// A quantize job that timed the FP32 model alternately with its own stores
// speedup_vs_fp32; the row takes the mean of those over seeds rather than
// the ratio to the FP32 row's latency, measured in other jobs at other times.
TEST(Results, PairedSpeedupsFromTheJobsWinOverTheCrossJobRatio) {
  auto store = *storage::SqliteResultStore::Open(":memory:");
  const int64_t e = *store->PutExperiment("paper", {{"dataset", {{"name", "fashion-mnist"}}}});
  ASSERT_TRUE(store->SyncJobs(e, {Quantize("fp32", 0), Quantize("naive_ptq", 0), Quantize("naive_ptq", 1),
                                  Quantize("bn_fold", 0), Quantize("bn_fold", 1)}));
  const std::map<std::string, double> paired{{"quantize/naive_ptq/cpu/seed0", 3.3},
                                             {"quantize/naive_ptq/cpu/seed1", 3.5},
                                             {"quantize/bn_fold/cpu/seed0", 3.0}};  // seed 1 has none
  const auto jobs = *store->ListJobs(e);
  for (const auto& j : jobs) {
    const bool fp32 = j.key == "quantize/fp32/cpu/seed0";
    auto run = exp::Run(j, 91.0, fp32 ? 4.0 : 2.0, 1e6, 100, fp32 ? "fp32" : "int8");
    if (const auto it = paired.find(j.key); it != paired.end()) run.metrics["latency.cpu.b64.speedup_vs_fp32"] = it->second;
    ASSERT_TRUE(store->CompleteJob(j.id, run));
  }
  const auto loaded = *LoadResults(*store, "paper", 64);
  ASSERT_EQ(loaded->view.rows.size(), 3u);
  EXPECT_FALSE(loaded->view.rows[0].paired_speedup);
  EXPECT_DOUBLE_EQ(loaded->view.rows[0].speedup, 1.0);
  EXPECT_TRUE(loaded->view.rows[1].paired_speedup);
  EXPECT_DOUBLE_EQ(loaded->view.rows[1].speedup, 3.4);
  EXPECT_FALSE(loaded->view.rows[2].paired_speedup);  // not every seed has one: the cross-job ratio
  EXPECT_DOUBLE_EQ(loaded->view.rows[2].speedup, 2.0);
}

TEST(Results, OnnxRuntimeRowsSitBesideLibTorchRowsAndCompareWithLibTorchFp32) {
  auto store = *storage::SqliteResultStore::Open(":memory:");
  const int64_t e = *store->PutExperiment("paper", {{"dataset", {{"name", "fashion-mnist"}}}});
  auto exported = Quantize("naive_ptq", 0);
  exported.key = "export/naive_ptq/cpu/seed0";
  exported.kind = "export";
  exported.config["code"] = "export-1";
  exported.config["quantize_hash"] = Quantize("naive_ptq", 0).config_hash;
  exported.config_hash = ConfigHash(exported.config);
  ASSERT_TRUE(store->SyncJobs(e, {Quantize("fp32", 0), Quantize("naive_ptq", 0), exported}));
  const auto stored = *store->ListJobs(e);
  const std::map<std::string, double> p50{
      {"quantize/fp32/cpu/seed0", 4.0}, {"quantize/naive_ptq/cpu/seed0", 1.0}, {"export/naive_ptq/cpu/seed0", 0.5}};
  for (const auto& j : stored) {
    const bool fp32 = j.key == "quantize/fp32/cpu/seed0";
    ASSERT_TRUE(store->CompleteJob(j.id, exp::Run(j, 91.0, p50.at(j.key), 1e6, 100, fp32 ? "fp32" : "int8")));
  }
  const auto loaded = *LoadResults(*store, "paper", 64);
  ASSERT_EQ(loaded->view.rows.size(), 3u);
  const auto& ort = loaded->view.rows[2];
  EXPECT_EQ(ort.label, "naive_ptq [onnxruntime]");
  EXPECT_EQ(ort.runtime, "onnxruntime");
  EXPECT_NEAR(ort.speedup, 8.0, 1e-9);  // vs the LibTorch FP32 row
}

// An export job whose worker saturated the model's 8-bit weights (a CPU
// without VNNI) stores the layers and its LibTorch reference's engine; its row
// names them under every table, in the baseline JSON and in reproduce's notes,
// once across seeds, and says whether Agree compares with a reference that
// holds (qnnpack) or one that saturated too. Rows whose runs stored none get
// no note.
TEST(Results, ExportRowsWhoseCpuSaturatedTheWeightsAreNamedUnderTheTable) {
  auto store = *storage::SqliteResultStore::Open(":memory:");
  const int64_t e = *store->PutExperiment("paper", {{"dataset", {{"name", "fashion-mnist"}}}});
  std::vector<storage::JobRecord> jobs{Quantize("fp32", 0)};
  for (const char* strategy : {"naive_ptq", "bn_fold"}) {
    for (int seed : {0, 1}) {
      auto exported = Quantize(strategy, seed);
      exported.key = fmt::format("export/{}/cpu/seed{}", strategy, seed);
      exported.kind = "export";
      exported.config["code"] = "export-2";
      exported.config["quantize_hash"] = Quantize(strategy, seed).config_hash;
      exported.config_hash = ConfigHash(exported.config);
      jobs.push_back(exported);
    }
  }
  ASSERT_TRUE(store->SyncJobs(e, jobs));
  const auto stored = *store->ListJobs(e);
  for (const auto& j : stored) {
    auto run = exp::Run(j, 91.0, 2.0, 1e6, 97.5, j.kind == "export" ? "int8" : "fp32");
    if (j.key == "export/naive_ptq/cpu/seed0") {
      run.documents[document::kSaturatingLayers] = {"block1.conv", "fc1"};
      run.documents[document::kReferenceEngine] = "qnnpack";
    } else if (j.key == "export/naive_ptq/cpu/seed1") {
      run.documents[document::kSaturatingLayers] = {"fc1", "fc2"};
      run.documents[document::kReferenceEngine] = "qnnpack";
    } else if (j.key == "export/bn_fold/cpu/seed0") {  // a LibTorch build without qnnpack
      run.documents[document::kSaturatingLayers] = {"fc1"};
      run.documents[document::kReferenceEngine] = "onednn";
    }
    ASSERT_TRUE(store->CompleteJob(j.id, run));
  }
  const auto loaded = *LoadResults(*store, "paper", 64);
  ASSERT_EQ(loaded->view.rows.size(), 3u);
  EXPECT_TRUE(loaded->view.rows[0].saturating_layers.empty());
  EXPECT_EQ(loaded->view.rows[1].saturating_layers, (std::vector<std::string>{"block1.conv", "fc1", "fc2"}));
  EXPECT_EQ(loaded->view.rows[1].reference_engines, std::vector<std::string>{"qnnpack"});

  const auto notes = TableNotes(loaded->view);
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_EQ(notes[0],
            "naive_ptq [onnxruntime] ran on a CPU without VNNI, whose u8 x s8 kernels (ONNX Runtime's and oneDNN's) "
            "saturate this model's 8-bit weights in block1.conv, fc1, fc2: its Top-1 is that CPU's, and Agree compares "
            "it with LibTorch on qnnpack, which does not saturate; quantize on such a CPU (7-bit weights) for figures "
            "that hold on every CPU");
  EXPECT_NE(notes[1].find("bn_fold [onnxruntime] ran on a CPU without VNNI"), std::string::npos) << notes[1];
  EXPECT_NE(notes[1].find("weights in fc1: its Top-1 is that CPU's, and so is its LibTorch reference's"),
            std::string::npos)
      << notes[1];
  EXPECT_EQ(BaselineJson(loaded->view)["rows"][1]["saturating_layers"],
            nlohmann::json({"block1.conv", "fc1", "fc2"}));
  EXPECT_FALSE(BaselineJson(loaded->view)["rows"][0].contains("saturating_layers"));
  auto reproduced = ReproduceTable(loaded->view, {{"rows", {{"fp32", {{"top1", 91.0}}}}}});
  ASSERT_TRUE(reproduced) << reproduced.error().ToString();
  EXPECT_NE(std::find(reproduced->notes.begin(), reproduced->notes.end(), notes[0]), reproduced->notes.end());
}

// A grid whose seeds ran on workers of two CPUs (or one CPU at two thread
// counts): each row names its machines, and the table says which rows were
// timed where, since a Speedup across them compares machines.
TEST(Results, LatenciesTimedOnSeveralMachinesAreNamedUnderTheTable) {
  const std::string vnni = "AMD EPYC (family 26, AVX-512, VNNI)", avx2 = "AMD EPYC (family 25, AVX2, no VNNI)";
  // Every run on `vnni` with 2 threads but naive_ptq's seed 1; bn_fold untimed.
  auto load = [&](const std::string& cpu_of_seed1, int threads_of_seed1) {
    auto store = *storage::SqliteResultStore::Open(":memory:");
    const int64_t e = *store->PutExperiment("paper", {{"dataset", {{"name", "fashion-mnist"}}}});
    EXPECT_TRUE(store->SyncJobs(e, {Quantize("fp32", 0), Quantize("naive_ptq", 0), Quantize("naive_ptq", 1),
                                    Quantize("bn_fold", 0)}));
    const auto jobs = *store->ListJobs(e);
    for (const auto& j : jobs) {
      auto run = exp::Run(j, 91.0, 2.0, 1e6, 99.0, j.key.find("fp32") != std::string::npos ? "fp32" : "int8");
      run.cpu_model = vnni;
      if (j.key == "quantize/naive_ptq/cpu/seed1") {
        run.cpu_model = cpu_of_seed1;
        run.threads = threads_of_seed1;
      }
      if (j.key.find("bn_fold") != std::string::npos) run.metrics.erase("latency.cpu.b64.p50_ms");
      EXPECT_TRUE(store->CompleteJob(j.id, run));
    }
    return std::move(*LoadResults(*store, "paper", 64));
  };

  const auto one = load(vnni, 2);
  EXPECT_TRUE(TableNotes(one->view).empty());
  EXPECT_EQ(one->view.rows[1].timed_on, std::vector<std::string>{vnni + ", 2 threads"});
  EXPECT_TRUE(one->view.rows[2].timed_on.empty());  // no latency, no machine
  EXPECT_EQ(BaselineJson(one->view)["rows"][1]["timed_on"], nlohmann::json({vnni + ", 2 threads"}));

  const auto two = load(avx2, 2);
  EXPECT_EQ(two->view.rows[1].timed_on, (std::vector<std::string>{vnni + ", 2 threads", avx2 + ", 2 threads"}));
  const auto notes = TableNotes(two->view);
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_EQ(notes[0],
            "Latency was timed on 2 machines, so a latency between rows of different machines compares the machines "
            "as well as the models; each Speedup is against the FP32 its own machine timed: AMD EPYC (family 26, "
            "AVX-512, VNNI), 2 threads timed fp32, naive_ptq; AMD EPYC (family 25, AVX2, no VNNI), 2 threads timed "
            "naive_ptq");
  EXPECT_EQ(notes[1],
            "AMD EPYC (family 25, AVX2, no VNNI), 2 threads timed no FP32 model, so what it timed of naive_ptq has no "
            "Speedup");
  // The same CPU with one thread is another machine for a latency.
  const auto threads = TableNotes(load(vnni, 1)->view);
  ASSERT_EQ(threads.size(), 2u);
  EXPECT_NE(threads[0].find("(family 26, AVX-512, VNNI), 1 thread timed naive_ptq"), std::string::npos) << threads[0];
}

// Seeds timed on two machines, B twice as slow as A: each Speedup divides
// times of one machine. Per-row means would divide A's FP32 by a mix of both,
// and a row timed only on B by A's FP32.
TEST(Results, SpeedupDividesOnlyTimesOfTheSameMachine) {
  const std::string a = "AMD EPYC (family 26, AVX-512, VNNI)", b = "AMD EPYC (family 25, AVX2, no VNNI)";
  // p50 per batch and machine of each job; a job missing here is untimed.
  auto load = [&](const std::map<std::string, std::pair<double, std::string>>& timed) {
    auto store = *storage::SqliteResultStore::Open(":memory:");
    const int64_t e = *store->PutExperiment("paper", {{"dataset", {{"name", "fashion-mnist"}}}});
    EXPECT_TRUE(store->SyncJobs(e, {Quantize("fp32", 0), Quantize("fp32", 1), Quantize("naive_ptq", 0),
                                    Quantize("naive_ptq", 1), Quantize("bn_fold", 0)}));
    const auto jobs = *store->ListJobs(e);
    for (const auto& j : jobs) {
      auto run = exp::Run(j, 91.0, 1.0, 1e6, 99.0, j.key.find("fp32") != std::string::npos ? "fp32" : "int8");
      if (const auto t = timed.find(j.key); t != timed.end()) {
        run.metrics["latency.cpu.b64.p50_ms"] = t->second.first;
        run.cpu_model = t->second.second;
      } else {
        run.metrics.erase("latency.cpu.b64.p50_ms");
      }
      EXPECT_TRUE(store->CompleteJob(j.id, run));
    }
    return std::move(*LoadResults(*store, "paper", 64));
  };

  // Both machines timed FP32: naive_ptq is 4x on A and 2x on B, so 3x (the
  // mean of row latencies would say 5 / 2 = 2.5x); bn_fold, only on B, 1.5x.
  const auto both = load({{"quantize/fp32/cpu/seed0", {4.0, a}},
                          {"quantize/fp32/cpu/seed1", {6.0, b}},
                          {"quantize/naive_ptq/cpu/seed0", {1.0, a}},
                          {"quantize/naive_ptq/cpu/seed1", {3.0, b}},
                          {"quantize/bn_fold/cpu/seed0", {4.0, b}}});
  const auto& rows = both->view.rows;
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_NEAR(rows[1].speedup, 3.0, 1e-9);
  EXPECT_NEAR(rows[1].speedup_own, 3.0, 1e-9);
  EXPECT_NEAR(rows[2].speedup, 1.5, 1e-9);
  EXPECT_NEAR(rows[0].speedup, 1.0, 1e-9);
  ASSERT_EQ(both->view.fastest_fp32.size(), 2u);
  EXPECT_EQ(both->view.fastest_fp32[1].machine, b + ", 2 threads");
  EXPECT_EQ(SpeedupCaption(both->view),
            "Speedup: vs the fastest FP32 on cpu timed on the same machine; " + a +
                ", 2 threads: libtorch (fp32) at b64, 4 ms per batch; " + b +
                ", 2 threads: libtorch (fp32) at b64, 6 ms per batch. Speedup (own): vs the FP32 model on the row's "
                "own runtime.");
  const auto json = BaselineJson(both->view);
  EXPECT_FALSE(json["fastest_fp32"].contains("cpu"));  // two machines: only in the list
  ASSERT_EQ(json["fastest_fp32_per_machine"].size(), 2u);
  EXPECT_EQ(json["fastest_fp32_per_machine"][1]["timed_on"], b + ", 2 threads");
  EXPECT_EQ(json["fastest_fp32_per_machine"][1]["device"], "cpu");
  EXPECT_EQ(TableNotes(both->view).size(), 1u);  // the machines; every run has a baseline
  // A study's claim with a named base divides the same machine's times too.
  const auto claims = nlohmann::json::parse(R"({"claims": [
      {"text": "int8", "kind": "speed_ratio", "row": "naive_ptq", "base": "fp32"},
      {"text": "fold", "kind": "speedup", "row": "bn_fold", "base": "naive_ptq"}]})");
  auto reproduced = ReproduceTable(both->view, claims);
  ASSERT_TRUE(reproduced) << reproduced.error().ToString();
  EXPECT_EQ(reproduced->claims.Render(TableFormat::kCsv), "Claim,paper,ours\nint8,-,3.00x\nfold,-,0.75x\n");

  // Only A timed FP32: naive_ptq's Speedup is A's run alone, and bn_fold,
  // timed on B only, has none; a note says which runs went without.
  const auto only_a = load({{"quantize/fp32/cpu/seed0", {4.0, a}},
                            {"quantize/naive_ptq/cpu/seed0", {1.0, a}},
                            {"quantize/naive_ptq/cpu/seed1", {3.0, b}},
                            {"quantize/bn_fold/cpu/seed0", {4.0, b}}});
  EXPECT_NEAR(only_a->view.rows[1].speedup, 4.0, 1e-9);
  EXPECT_EQ(only_a->view.rows[2].speedup, 0.0);
  EXPECT_EQ(only_a->view.rows[2].speedup_own, 0.0);
  EXPECT_EQ(BaselineJson(only_a->view)["fastest_fp32"]["cpu"]["timed_on"], a + ", 2 threads");
  const auto notes = TableNotes(only_a->view);
  ASSERT_EQ(notes.size(), 2u);
  EXPECT_EQ(notes[1], b + ", 2 threads timed no FP32 model, so what it timed of naive_ptq, bn_fold has no Speedup");
  reproduced = ReproduceTable(only_a->view, claims);
  ASSERT_TRUE(reproduced) << reproduced.error().ToString();
  EXPECT_EQ(reproduced->claims.Render(TableFormat::kCsv), "Claim,paper,ours\nint8,-,4.00x\nfold,-,0.75x\n");
  const std::string table = ResultsTable(only_a->view).Render(TableFormat::kCsv);
  EXPECT_NE(table.find("bn_fold,int8,100.0,91.00,99.50,0.0625,-,-,"), std::string::npos) << table;
}

// With export.onnx the grid has an FP32 row per runtime. The fp32 export job
// timed LibTorch's FP32 alternately with ONNX Runtime's (1.3x slower): every
// Speedup is then against ONNX Runtime FP32, the fastest, and Speedup (own)
// against the row's own runtime's FP32.
TEST(Results, SpeedupIsAgainstTheFastestFp32AcrossRuntimes) {
  auto store = *storage::SqliteResultStore::Open(":memory:");
  const int64_t e = *store->PutExperiment("paper", {{"dataset", {{"name", "fashion-mnist"}}}});
  auto exported = [](const std::string& strategy) {
    auto j = Quantize(strategy, 0);
    j.key = "export/" + strategy + "/cpu/seed0";
    j.kind = "export";
    j.config["code"] = "export-1";
    j.config["quantize_hash"] = Quantize(strategy, 0).config_hash;
    j.config_hash = ConfigHash(j.config);
    return j;
  };
  ASSERT_TRUE(store->SyncJobs(e, {Quantize("fp32", 0), Quantize("naive_ptq", 0), exported("fp32"),
                                  exported("naive_ptq")}));
  const std::map<std::string, double> p50{{"quantize/fp32/cpu/seed0", 4.0},
                                          {"quantize/naive_ptq/cpu/seed0", 1.0},
                                          {"export/fp32/cpu/seed0", 3.0},
                                          {"export/naive_ptq/cpu/seed0", 1.5}};
  const auto jobs = *store->ListJobs(e);
  for (const auto& j : jobs) {
    const bool fp32 = j.key.find("/fp32/") != std::string::npos;
    auto run = exp::Run(j, 91.0, p50.at(j.key), 1e6, 100, fp32 ? "fp32" : "int8");
    if (j.key == "export/fp32/cpu/seed0") run.metrics["latency.cpu.b64.libtorch_fp32_over_this"] = 1.3;
    ASSERT_TRUE(store->CompleteJob(j.id, run));
  }
  const auto loaded = *LoadResults(*store, "paper", 64);
  const auto& rows = loaded->view.rows;
  ASSERT_EQ(rows.size(), 4u);
  ASSERT_EQ(loaded->view.fastest_fp32.size(), 1u);
  const auto& fastest = loaded->view.fastest_fp32.front();
  EXPECT_EQ(fastest.runtime, "onnxruntime");
  EXPECT_TRUE(fastest.paired);
  EXPECT_NEAR(rows[1].speedup_own, 4.0, 1e-9);        // naive_ptq vs LibTorch FP32
  EXPECT_NEAR(rows[1].speedup, 4.0 / 1.3, 1e-9);      // ... vs ONNX Runtime FP32, by the paired ratio
  EXPECT_NEAR(rows[0].speedup, 1.0 / 1.3, 1e-9);      // LibTorch FP32 itself is slower than the baseline
  EXPECT_NEAR(rows[3].speedup_own, 2.0, 1e-9);        // naive_ptq [onnxruntime] vs fp32 [onnxruntime]
  EXPECT_NEAR(rows[3].speedup, 2.0, 1e-9);
  const std::string caption = SpeedupCaption(loaded->view);
  EXPECT_NE(caption.find("onnxruntime (fp32 [onnxruntime]) at b64, 3 ms per batch"), std::string::npos) << caption;
  EXPECT_NE(caption.find("alternating rounds"), std::string::npos) << caption;
  const std::string table = ResultsTable(loaded->view).Render(TableFormat::kMarkdown);
  EXPECT_NE(table.find("Speedup (own)"), std::string::npos);
  const auto json = BaselineJson(loaded->view);
  EXPECT_EQ(json["fastest_fp32"]["cpu"]["runtime"], "onnxruntime");
  EXPECT_NEAR(json["rows"][1]["speedup_own"].get<double>(), 4.0, 1e-9);
}

TEST(Results, TableInAllThreeFormats) {
  auto store = *storage::SqliteResultStore::Open(":memory:");
  const auto loaded = Fixture(*store);
  const auto table = ResultsTable(loaded->view);
  EXPECT_EQ(table.Render(TableFormat::kMarkdown),
            "| Strategy  | Precision | INT8 MACs (%) |    Top-1 (%) |    Top-5 (%) | Latency (ms/img, b64) | Speedup "
            "| Speedup (own) |     Size (MB) |     Agree (%) |\n"
            "| :-------- | :-------- | ------------: | -----------: | -----------: | --------------------: | ------: "
            "| ------------: | ------------: | ------------: |\n"
            "| fp32      | fp32      |           0.0 | 91.50 ± 0.71 | 99.50 ± 0.00 |       0.0656 ± 0.0044 |   1.00x "
            "|         1.00x | 1.600 ± 0.000 | 100.00 ± 0.00 |\n"
            "| naive_ptq | int8      |         100.0 | 91.00 ± 0.71 | 99.50 ± 0.00 |       0.0172 ± 0.0022 |   3.82x "
            "|         3.82x | 0.400 ± 0.000 |  99.60 ± 0.14 |\n");
  EXPECT_EQ(table.Render(TableFormat::kCsv),
            "Strategy,Precision,INT8 MACs (%),Top-1 (%),Top-5 (%),\"Latency (ms/img, b64)\",Speedup,Speedup (own),"
            "Size (MB),Agree (%)\n"
            "fp32,fp32,0.0,91.50 ± 0.71,99.50 ± 0.00,0.0656 ± 0.0044,1.00x,1.00x,1.600 ± 0.000,100.00 ± 0.00\n"
            "naive_ptq,int8,100.0,91.00 ± 0.71,99.50 ± 0.00,0.0172 ± 0.0022,3.82x,3.82x,0.400 ± 0.000,99.60 ± 0.14\n");
  EXPECT_EQ(table.Render(TableFormat::kLatex),
            "\\begin{tabular}{llrrrrrrrr}\n\\toprule\n"
            "Strategy & Precision & INT8 MACs (\\%) & Top-1 (\\%) & Top-5 (\\%) & Latency (ms/img, b64) & Speedup & "
            "Speedup (own) & Size (MB) & Agree (\\%) \\\\\n\\midrule\n"
            "fp32 & fp32 & 0.0 & 91.50 $\\pm$ 0.71 & 99.50 $\\pm$ 0.00 & 0.0656 $\\pm$ 0.0044 & 1.00x & 1.00x & 1.600 $\\pm$ "
            "0.000 & 100.00 $\\pm$ 0.00 \\\\\n"
            "naive\\_ptq & int8 & 100.0 & 91.00 $\\pm$ 0.71 & 99.50 $\\pm$ 0.00 & 0.0172 $\\pm$ 0.0022 & 3.82x & 3.82x & "
            "0.400 $\\pm$ 0.000 & 99.60 $\\pm$ 0.14 \\\\\n"
            "\\bottomrule\n\\end{tabular}\n");
}

TEST(Reproduce, PrintsOursBesidePublishedWithDeltas) {
  auto store = *storage::SqliteResultStore::Open(":memory:");
  const auto loaded = Fixture(*store);
  const auto table = ReproduceTable(
      loaded->view, nlohmann::json::parse(R"({"rows": {"fp32": {"top1": 71.91, "latency_ms": 0.141, "size_mb": 2.09},
                                                         "mpq": {"top1": 71.46}}})"));
  ASSERT_TRUE(table) << table.error().ToString();
  const std::string md = table->rows.Render(TableFormat::kMarkdown);
  EXPECT_NE(md.find("| fp32 "), std::string::npos);
  EXPECT_NE(md.find("+19.59"), std::string::npos);   // 91.50 - 71.91
  EXPECT_NE(md.find("-0.0754"), std::string::npos);  // 0.0656 - 0.141
  EXPECT_NE(md.find("naive_ptq (not in paper)"), std::string::npos);
  EXPECT_TRUE(table->notes.empty());
  EXPECT_FALSE(ReproduceTable(loaded->view, nlohmann::json::object()));
}

// On another dataset (or a stand-in) accuracy differences are "—"; an
// inconsistent published size is flagged, not differenced; claims are
// computed from our rows; a GPU figure without a GPU row says so.
TEST(Reproduce, LeavesOutAccuracyDeltasOnAnotherDatasetAndFlagsInconsistentFigures) {
  auto store = *storage::SqliteResultStore::Open(":memory:");
  const auto loaded = Fixture(*store);
  const auto published = nlohmann::json::parse(R"({"dataset": "cifar10",
      "rows": {"fp32": {"top1": 94.82, "top5": 99.9, "latency_ms": 3.12, "size_mb": 42.63, "gpu_latency_ms": 16.39},
               "naive_ptq": {"top1": 94.71, "size_mb": 0.01, "speedup": 2.33,
                             "inconsistent": "0.01 MB cannot hold 11 M int8 weights"}},
      "claims": [{"text": "size reduction", "kind": "size_reduction", "row": "naive_ptq", "base": "fp32", "paper": "~75 %"},
                 {"text": "speedup", "kind": "speedup", "row": "naive_ptq", "base": "fp32", "paper": 2.33}]})");
  const auto r = ReproduceTable(loaded->view, published);
  ASSERT_TRUE(r) << r.error().ToString();
  const std::string md = r->rows.Render(TableFormat::kMarkdown);
  EXPECT_EQ(md.find("+19.59"), std::string::npos) << md;
  EXPECT_NE(md.find("—"), std::string::npos) << md;
  EXPECT_NE(md.find("0.01 (inconsistent)"), std::string::npos) << md;
  EXPECT_NE(md.find("no GPU here"), std::string::npos) << md;
  EXPECT_NE(md.find("2.33x"), std::string::npos) << md;
  ASSERT_EQ(r->notes.size(), 3u);  // other dataset, the inconsistent size, the speedups' baseline
  EXPECT_NE(r->notes[0].find("ours ran fashion-mnist, the paper cifar10"), std::string::npos) << r->notes[0];
  EXPECT_NE(r->notes[2].find("Speedup: vs the fastest FP32 on cpu, libtorch (fp32)"), std::string::npos) << r->notes[2];
  const std::string claims = r->claims.Render(TableFormat::kMarkdown);
  EXPECT_NE(claims.find("75.0 %"), std::string::npos) << claims;  // 0.4 MB vs 1.6 MB
  EXPECT_NE(claims.find("~75 %"), std::string::npos) << claims;
  auto bad = published;
  bad["claims"] = nlohmann::json::parse(R"([{"kind": "faster"}])");
  EXPECT_FALSE(ReproduceTable(loaded->view, bad));
}

TEST(HtmlReport, IsSelfContainedWithChartsAndNoNaN) {
  auto store = *storage::SqliteResultStore::Open(":memory:");
  const auto loaded = Fixture(*store);
  const std::string html = RenderHtmlReport(loaded->view, loaded->experiment);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("Top-1 vs latency"), std::string::npos);
  EXPECT_NE(html.find("Confusion matrices"), std::string::npos);
  EXPECT_EQ(html.find("NaN"), std::string::npos);
  EXPECT_EQ(html.find("http://"), html.find("http://www.w3.org/2000/svg"));  // no external resources
}

TEST(HtmlReport, PlotsEachEqualizedLayersChannelRangesBeforeAndAfterCle) {
  auto store = *storage::SqliteResultStore::Open(":memory:");
  const int64_t e = *store->PutExperiment("cle", {{"dataset", {{"name", "fashion-mnist"}}}});
  ASSERT_TRUE(store->SyncJobs(e, {Quantize("cle", 0)}));
  const auto job = store->ListJobs(e)->front();
  auto run = qg::exp::Run(job, 90.0, 1.0, 0.4e6, 99.0, "int8");
  run.documents["details"] = {{"equalization",
                               {{"pairs", 1},
                                {"weight_ranges", {{{"layer", "conv1.conv"}, {"before", {0.01, 1.0, 100.0}},
                                                    {"after", {0.9, 1.0, 1.1}}}}}}}};
  ASSERT_TRUE(store->CompleteJob(job.id, run));
  const auto loaded = *LoadResults(*store, "cle", 64);
  const std::string html = RenderHtmlReport(loaded->view, loaded->experiment);
  EXPECT_NE(html.find("Per-channel weight ranges before and after CLE: cle"), std::string::npos);
  EXPECT_NE(html.find("conv1.conv"), std::string::npos);
  EXPECT_NE(html.find("log10 max |w|"), std::string::npos);
  EXPECT_EQ(html.find("NaN"), std::string::npos);
}

TEST(LayerSizes, OneTablePerQuantizedRowWithReductionsAndATotal) {
  auto store = *storage::SqliteResultStore::Open(":memory:");
  const int64_t e = *store->PutExperiment("sizes", {{"dataset", {{"name", "fashion-mnist"}}}});
  ASSERT_TRUE(store->SyncJobs(e, {Quantize("fp32", 0), Quantize("mpq", 0)}));
  const auto jobs = *store->ListJobs(e);
  ASSERT_TRUE(store->CompleteJob(jobs[0].id, qg::exp::Run(jobs[0], 91.0, 4.0, 1.6e6, 100.0, "fp32")));
  auto run = qg::exp::Run(jobs[1], 90.0, 1.0, 0.5e6, 99.0, "mixed");
  run.documents["layer_sizes"] = nlohmann::json::parse(R"([
      {"layer": "conv1", "fp32_bytes": 1000, "bytes": 282, "int8": true},
      {"layer": "fc", "fp32_bytes": 4000, "bytes": 4000, "int8": false}])");
  ASSERT_TRUE(store->CompleteJob(jobs[1].id, run));
  const auto loaded = *LoadResults(*store, "sizes", 64);
  const auto tables = LayerSizeTables(loaded->view);
  ASSERT_EQ(tables.size(), 1u);  // fp32 stores none
  EXPECT_EQ(tables[0].first, "mpq");
  const std::string md = tables[0].second.Render(TableFormat::kMarkdown);
  EXPECT_NE(md.find("| conv1 "), std::string::npos) << md;
  EXPECT_NE(md.find("71.8 %"), std::string::npos) << md;  // 1 - 282 / 1000
  EXPECT_NE(md.find("0.0 %"), std::string::npos) << md;   // the FP32 layer
  const std::string total = md.substr(md.find("| total (weights and biases)"));
  EXPECT_NE(total.find(" 5.0 |"), std::string::npos) << md;
  EXPECT_NE(md.find("14.4 %"), std::string::npos) << md;  // 1 - 4282 / 5000
}

}  // namespace
}  // namespace qg::exp
