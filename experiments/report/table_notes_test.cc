// What the table says under its rows about an INT8 export's step-by-step
// check (document "export_step_check", pipeline::ExportStepCheck).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "experiments/job_config.h"
#include "experiments/report/results.h"
#include "storage/sqlite_result_store.h"
#include "tests/testing/results_fixtures.h"

namespace qg::exp {
namespace {

nlohmann::json StepCheck(int64_t max_steps, const char* first_divergence) {
  return {{"images", 16},
          {"within_steps", 2},
          {"max_own_steps", max_steps},
          {"first_divergence", first_divergence ? nlohmann::json(first_divergence) : nlohmann::json(nullptr)}};
}

// naive_ptq's export agrees 97.5 % with LibTorch and every step is within 1
// step: the loss is rounding carried through. bn_fold's has a step that
// differs by itself: it is named, whatever the agreement. An export that
// agrees 99.5 % gets no note, nor does one never checked.
TEST(TableNotes, SayWhetherALowAgreementIsRoundingOrAStepOfTheExport) {
  auto store = *storage::SqliteResultStore::Open(":memory:");
  const int64_t e = *store->PutExperiment("paper", {{"dataset", {{"name", "fashion-mnist"}}}});
  std::vector<storage::JobRecord> jobs{Quantize("fp32", 0)};
  for (const char* strategy : {"naive_ptq", "bn_fold", "cle", "adaround"}) {
    auto exported = Quantize(strategy, 0);
    exported.key = fmt::format("export/{}/cpu/seed0", strategy);
    exported.kind = "export";
    exported.config["code"] = "export-3";
    exported.config["quantize_hash"] = Quantize(strategy, 0).config_hash;
    exported.config_hash = ConfigHash(exported.config);
    jobs.push_back(exported);
  }
  ASSERT_TRUE(store->SyncJobs(e, jobs));
  const auto stored = *store->ListJobs(e);
  for (const auto& j : stored) {
    const bool good = j.key == "export/cle/cpu/seed0";
    auto run = exp::Run(j, 91.0, 2.0, 1e6, good ? 99.5 : 97.5, j.kind == "export" ? "int8" : "fp32");
    if (j.key == "export/naive_ptq/cpu/seed0") run.documents[document::kExportStepCheck] = StepCheck(1, nullptr);
    if (j.key == "export/bn_fold/cpu/seed0") run.documents[document::kExportStepCheck] = StepCheck(9, "layer2.conv");
    if (good) run.documents[document::kExportStepCheck] = StepCheck(1, nullptr);
    ASSERT_TRUE(store->CompleteJob(j.id, run));
  }
  const auto loaded = *LoadResults(*store, "paper", 64);
  const auto notes = TableNotes(loaded->view);
  ASSERT_EQ(notes.size(), 2u) << fmt::format("{}", fmt::join(notes, "\n"));
  EXPECT_EQ(notes[0],
            "naive_ptq [onnxruntime]: its Agree of 97.50 % is rounding carried through the layers: on 16 test images "
            "each step of the export is within 1 step of its scale of LibTorch's on the same inputs");
  EXPECT_EQ(notes[1],
            "bn_fold [onnxruntime]: its export computes layer2.conv otherwise than LibTorch's INT8 model: more than 2 "
            "steps of the value's scale apart on the same inputs (quantgrid check-export on its INT8 file shows every "
            "step)");
}

}  // namespace
}  // namespace qg::exp
