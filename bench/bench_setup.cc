#include "bench/bench_setup.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <cstdio>

#include "core/data/dataset_registry.h"
#include "core/models/model_registry.h"
#include "core/pipeline/torch_runtime.h"
#include "core/quant/bn_fold.h"
#include "core/quant/convert.h"
#include "core/quant/engine.h"

namespace qg::bench {

nlohmann::json RunReference(const Options& o, const std::string& args) {
  const bool inference = args.rfind("train", 0) != 0;
  const std::string cmd = fmt::format("{}{} {} {} --threads {} 2>/dev/null", inference ? "OPENBLAS_NUM_THREADS=1 " : "",
                                      o.python, o.reference, args, o.threads);
  std::unique_ptr<FILE, decltype(&pclose)> pipe(popen(cmd.c_str(), "r"), &pclose);
  std::string out;
  char buf[4096];
  while (pipe && fgets(buf, sizeof buf, pipe.get())) out += buf;
  auto j = nlohmann::json::parse(out, nullptr, false);
  if (j.is_discarded()) {
    fmt::print(stderr, "reference failed: {}\n", cmd);
    std::exit(1);
  }
  return j;
}

models::GraphModule CompactCnn() {
  return *models::CreateModel("compact_cnn", {.in_channels = 1, .image_size = 28, .num_classes = 10}, 0);
}

Int8Setup PrepareInt8(const std::string& model_name, const models::ModelOptions& options) {
  auto model = *models::CreateModel(model_name, options, 0);
  auto data = *data::OpenDataset({.name = "synthetic", .synthetic_train = 256, .synthetic_test = 16,
                                  .synthetic_channels = options.in_channels, .synthetic_size = options.image_size});
  {
    torch::NoGradGuard g;
    model->train();
    model->forward(data.train->Fetch({0, 1, 2, 3, 4, 5, 6, 7})->images.to(torch::kFloat) / 255.0);
  }
  model->eval();
  auto folded = *quant::FoldBatchNorm(model);
  auto plan = *quant::PlanQuantization(folded->graph());
  data::DataLoader calib(data.train, {.batch_size = 64});
  auto qparams = *quant::Calibrate(folded, plan, calib, {.kind = "minmax"}, {});
  return {model, folded, std::move(plan), std::move(qparams)};
}

OnednnCompactCnn::OnednnCompactCnn(const Options& o)
    : threads(pipeline::ConfigureThreads(o.threads)), setup(PrepareInt8()) {
  (void)quant::UseEngine("onednn");
  quant::ConvertOptions weights;
  quant::FitWeightsToEngine(weights, "onednn");  // as a strategy would (7 bits on a CPU without VNNI)
  int8 = *quant::Convert(setup.folded, setup.plan, setup.qparams, weights);
}

}  // namespace qg::bench
