#include "core/quant/convert.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fmt/format.h>
#include <spdlog/sinks/ostream_sink.h>

#include <algorithm>
#include <limits>
#include <sstream>

#include "core/base/files.h"
#include "core/base/logging.h"
#include "core/data/dataset_registry.h"
#include "core/models/model_io.h"
#include "core/models/model_registry.h"
#include "core/quant/bn_fold.h"
#include "core/quant/engine.h"
#include "core/quant/internal/conv_pool.h"
#include "core/quant/internal/qstep.h"
#include "core/quant/layer_mse.h"
#include "tests/testing/temp_dir.h"

namespace qg::quant {
namespace {

using qg::testing::TempDir;

struct Converted {
  models::GraphModule model{nullptr};
  QuantPlan plan;
  ActivationQParams qparams;
};

// A model with random weights and BN statistics from a few training-mode passes,
// calibrated on synthetic images.
Converted Prepare(const std::string& name, bool fold, int channels = 1, int size = 28) {
  auto model = *models::CreateModel(name, {.in_channels = channels, .image_size = size, .num_classes = 10}, 0);
  const auto data = *data::OpenDataset({.name = "synthetic", .synthetic_train = 64, .synthetic_test = 16,
                                        .synthetic_channels = channels, .synthetic_size = size});
  data::DataLoader loader(data.train, {.batch_size = 32});
  {
    torch::NoGradGuard g;
    model->train();
    auto e = loader.Epoch(0);
    while (auto b = *e->Next()) model->forward(b->images);
  }
  model->eval();
  Converted c;
  c.model = fold ? *FoldBatchNorm(model) : model;
  c.plan = *PlanQuantization(c.model->graph());
  c.qparams = *Calibrate(c.model, c.plan, loader, {.kind = "minmax"}, QuantSpec{});
  return c;
}

TEST(Convert, IntermediateActivationsAreQuantizedTensors) {
  ASSERT_TRUE(UseEngine(DefaultEngine()));
  for (bool fold : {false, true}) {
    auto c = Prepare("compact_cnn", fold);
    auto q = Convert(c.model, c.plan, c.qparams, {});
    ASSERT_TRUE(q) << q.error().ToString();
    const auto values = (*q)->RunKeepingValues(torch::randn({3, 1, 28, 28}));
    int checked = 0;
    for (const auto& block : c.plan.blocks) {
      if (block.kind == BlockKind::kIdentity) continue;  // dropout: same tensor
      ASSERT_TRUE(values[block.output].defined()) << block.name;
      EXPECT_TRUE(values[block.output].is_quantized()) << block.name;
      if (block.output != c.plan.prediction) {
        EXPECT_EQ(values[block.output].scalar_type(), torch::kQUInt8) << block.name;
      }
      ++checked;
    }
    EXPECT_EQ(checked, fold ? 9 : 12);  // (conv [bn] pool) x 3, flatten, fc1, fc2
    EXPECT_TRUE(values[0].is_quantized());  // the input, quantized once
    const auto logits = (*q)->Predict(torch::randn({3, 1, 28, 28}));
    EXPECT_FALSE(logits.is_quantized());
    EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{3, 10}));
  }
}

// On onednn with AVX-512 VNNI, Predict runs compact_cnn's first conv and its
// pool as one pass (internal/conv_pool.h), and its linears at batches small
// enough on a pass of its own (internal/small_linear.h: fc1 up to 3 rows, fc2
// at all of these); on AVX2 without VNNI
// it runs both passes only with weights within +-64 (the engine's fitted 7
// bits), where vpmaddubsw cannot saturate. Running every
// step on LibTorch's kernels gives the same logits, bit for bit, at every
// batch size, with 8-bit weights too.
TEST(Convert, PredictOnItsOwnPassesEqualsEveryStepOnLibTorchKernels) {
  ASSERT_TRUE(UseEngine("onednn"));
  auto c = Prepare("compact_cnn", true);
  const bool vnni = internal::HasAvx512Vnni(), avx2 = internal::HasAvx2();
  ConvertOptions eight_bits, fitted;
  FitWeightsToEngine(fitted, "onednn");
  for (const bool fit : {false, true}) {
    SCOPED_TRACE(fit ? "weights fitted to the engine" : "8-bit weights");
    auto q = *Convert(c.model, c.plan, c.qparams, fit ? fitted : eight_bits);
    EXPECT_EQ(q->FusedConvPools(),
              vnni || (avx2 && fit) ? std::vector<std::string>{"block1.conv"} : std::vector<std::string>{});
    const std::vector<std::string> linears{"fc1", "fc2"};
    EXPECT_EQ(q->SmallBatchLinears(), vnni || (avx2 && fit) ? linears : std::vector<std::string>{});
    for (int64_t batch : {1, 2, 3, 5, 64}) {
      const auto x = torch::randn({batch, 1, 28, 28});
      const auto logits = q->RunKeepingValues(x)[c.plan.prediction];
      EXPECT_TRUE(torch::equal(q->Predict(x), logits.is_quantized() ? logits.dequantize() : logits))
          << "batch " << batch;
    }
  }
  // The unfolded model's conv is read by its batch norm, not a pool: nothing fused.
  auto unfolded = Prepare("compact_cnn", false);
  EXPECT_TRUE((*Convert(unfolded.model, unfolded.plan, unfolded.qparams, {}))->FusedConvPools().empty());
}

// Small batches run on one intra-op thread or on all, as the model measured:
// the same logits either way, through the measuring calls and after, and the
// caller's thread count is back after every call.
TEST(Convert, SmallBatchesGiveTheSameLogitsOnEitherThreadCountAndRestoreIt) {
  ASSERT_TRUE(UseEngine("onednn"));
  const int threads = at::get_num_threads();
  at::set_num_threads(2);
  auto c = Prepare("compact_cnn", true);
  auto measured = *Convert(c.model, c.plan, c.qparams, {});
  auto one = *Convert(c.model, c.plan, c.qparams, {});
  auto all = *Convert(c.model, c.plan, c.qparams, {});
  one->set_one_thread_batches(1 << 20);
  all->set_one_thread_batches(0);
  constexpr int kCalls = SmallBatchThreads::kMeasuringCalls;
  for (int64_t batch = 1; batch <= SmallBatchThreads::kLargestBatch + 1; ++batch) {
    const auto x = torch::randn({batch, 1, 28, 28});
    const auto expected = all->Predict(x);
    EXPECT_TRUE(torch::equal(one->Predict(x), expected)) << "batch " << batch;
    for (int call = 0; call <= kCalls; ++call) {
      EXPECT_TRUE(torch::equal(measured->Predict(x), expected)) << "batch " << batch << ", call " << call;
      EXPECT_EQ(at::get_num_threads(), 2) << "batch " << batch;
    }
    EXPECT_EQ(measured->OnOneThreadAt(batch).has_value(), true) << "batch " << batch;
  }
  EXPECT_EQ(measured->OnOneThreadAt(SmallBatchThreads::kLargestBatch + 1), false);
  at::set_num_threads(threads);
}

TEST(Convert, ResNetUsesQuantizedResidualAddsAndAgreesWithFp32) {
  ASSERT_TRUE(UseEngine(DefaultEngine()));
  auto c = Prepare("resnet18_cifar", /*fold=*/true, 3, 32);
  auto q = Convert(c.model, c.plan, c.qparams, {});
  ASSERT_TRUE(q) << q.error().ToString();
  int adds = 0;
  for (const auto& [name, kind, int8] : (*q)->DescribeSteps()) {
    if (kind == "add") {
      EXPECT_TRUE(int8);
      ++adds;
    }
  }
  EXPECT_EQ(adds, 8);
  EXPECT_EQ((*q)->Int8Layers().size(), 21u);
  const auto x = torch::randn({2, 3, 32, 32});
  const auto values = (*q)->RunKeepingValues(x);
  const int add_node = c.model->graph().Find("layer1.0.add");
  ASSERT_GE(add_node, 0);
  // The add's ReLU is fused: the block output is layer1.0.relu.
  EXPECT_TRUE(values[c.model->graph().Find("layer1.0.relu")].is_quantized());
}

bool SameValue(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.defined() != b.defined()) return false;
  if (!a.defined()) return true;
  if (a.is_quantized() != b.is_quantized()) return false;
  if (!a.is_quantized()) return torch::equal(a, b);
  return a.q_scale() == b.q_scale() && a.q_zero_point() == b.q_zero_point() && torch::equal(a.int_repr(), b.int_repr());
}

// RunEachStepOn runs each step on the values it is given: given the model's
// own values it reproduces every one; given one value changed, only the steps
// that read it change; a slot left undefined is computed from its inputs.
TEST(Convert, EachStepRunsOnTheValuesItIsGiven) {
  ASSERT_TRUE(UseEngine(DefaultEngine()));
  auto c = Prepare("resnet18_cifar", /*fold=*/true, 3, 32);
  auto q = *Convert(c.model, c.plan, c.qparams, {});
  const auto x = torch::randn({2, 3, 32, 32});
  const auto values = q->RunKeepingValues(x);
  const auto own = q->RunEachStepOn(x, values);
  for (const auto& s : q->steps()) EXPECT_TRUE(SameValue(own[s.output], values[s.output])) << s.name;

  // The first residual add's first input, moved up 3 steps.
  const auto add = std::find_if(q->steps().begin(), q->steps().end(),
                                [&](const internal::Step& s) { return s.kind == internal::StepKind::kAdd; });
  ASSERT_NE(add, q->steps().end());
  const int changed = add->inputs.at(0);
  auto given = values;
  const torch::Tensor& v = values[changed];
  const torch::Tensor moved_up = (v.int_repr().to(torch::kInt) + 3).clamp(0, 255).to(torch::kByte);
  given[changed] = at::_make_per_tensor_quantized_tensor(moved_up, v.q_scale(), v.q_zero_point());
  const auto moved = q->RunEachStepOn(x, given);
  int readers = 0;
  for (const auto& s : q->steps()) {
    const bool reads = std::find(s.inputs.begin(), s.inputs.end(), changed) != s.inputs.end();
    readers += reads;
    EXPECT_EQ(SameValue(moved[s.output], values[s.output]), !reads) << s.name;
  }
  EXPECT_GE(readers, 1);

  given = values;
  given[changed] = torch::Tensor();
  const auto recomputed = q->RunEachStepOn(x, given);
  for (const auto& s : q->steps()) EXPECT_TRUE(SameValue(recomputed[s.output], values[s.output])) << s.name;
}

// ReLU6 after a conv runs inside the conv's kernel: the clamp's output is
// the quantization point, so its range ends at 6 and the kernel's ReLU and
// saturation at 255 are the clamp. Byte for byte what the conv and a clamp of
// its own give with the same qparams; where the range reaches above 6 (the
// 7-bit range some engines take), the clamp stays a step of its own.
TEST(Convert, ReluSixRunsInsideTheConvAndEqualsTheConvThenTheClamp) {
  ASSERT_TRUE(UseEngine(DefaultEngine()));
  models::Graph g;
  g.Add({.name = "input", .op = models::Op::kInput});
  g.Add({.name = "c1",
         .op = models::Op::kConv2d,
         .inputs = {0},
         .in_channels = 3,
         .out_channels = 8,
         .kernel = {3, 3},
         .padding = {1, 1},
         .bias = true});
  g.Add({.name = "relu6", .op = models::Op::kClamp, .inputs = {1}, .clamp_min = 0, .clamp_max = 6});
  g.Add({.name = "c2", .op = models::Op::kConv2d, .inputs = {2}, .in_channels = 8, .out_channels = 4, .bias = true});
  g.outputs = {3};
  models::GraphModule model(g, models::ModelMeta{});
  model->eval();
  {
    torch::NoGradGuard no_grad;
    for (auto& p : model->named_parameters()) {
      if (p.key().starts_with("c1")) p.value().mul_(8);  // most outputs above 6
    }
  }
  const auto plan = *PlanQuantization(model->graph());
  ASSERT_EQ(plan.blocks.size(), 2u);
  EXPECT_TRUE(plan.blocks[0].relu);
  EXPECT_EQ(plan.blocks[0].relu_max, 6.0);
  EXPECT_EQ(plan.blocks[0].output, 2);
  const auto data = *data::OpenDataset(
      {.name = "synthetic", .synthetic_train = 32, .synthetic_test = 8, .synthetic_channels = 3, .synthetic_size = 8});
  data::DataLoader loader(data.train, {.batch_size = 16});
  const auto qparams = *Calibrate(model, plan, loader, {.kind = "minmax"}, QuantSpec{});
  auto fused = *Convert(model, plan, qparams, {});
  ASSERT_EQ(fused->steps().size(), 3u);  // quantize, c1 + ReLU6, c2
  EXPECT_LE(qparams.at(2).scale * 255.0, 6.0 + 1e-6);

  // The same qparams with the clamp as its own step after a plain conv.
  QuantPlan apart = plan;
  apart.blocks[0].relu = false;
  apart.blocks[0].relu_max = std::numeric_limits<double>::infinity();
  apart.blocks[0].output = 1;
  apart.blocks.insert(apart.blocks.begin() + 1, Block{.kind = BlockKind::kActivation,
                                                      .op = models::Op::kClamp,
                                                      .name = "relu6",
                                                      .main = 2,
                                                      .output = 2,
                                                      .inputs = {1}});
  auto apart_qparams = qparams;
  apart_qparams[1] = qparams.at(2);
  auto separate = *Convert(model, apart, apart_qparams, {});
  ASSERT_EQ(separate->steps().size(), 4u);

  const auto x = torch::randn({4, 3, 8, 8});
  const auto a = fused->RunKeepingValues(x), b = separate->RunKeepingValues(x);
  const auto clamped = a[2].int_repr();
  EXPECT_TRUE(torch::equal(clamped.contiguous(), b[2].int_repr().contiguous()));
  EXPECT_GT((clamped == 255).sum().item<int64_t>(), 0) << "no output reached the clamp";
  EXPECT_TRUE(torch::equal(fused->Predict(x), separate->Predict(x)));

  // A range above 6: the conv's ReLU alone would let values up to 12 through.
  auto wide = qparams;
  wide[2] = QParams{12.0 / 255.0, 0};
  auto split = *Convert(model, plan, wide, {});
  ASSERT_EQ(split->steps().size(), 4u);
  EXPECT_EQ(split->steps()[1].output, 1);
  EXPECT_EQ(split->steps()[2].kind, internal::StepKind::kActivation);
  // 6 on the grid of 12/255 steps: 128 of them, 6.02 (a ReLU alone: up to 12).
  EXPECT_LT(split->RunKeepingValues(x)[2].dequantize().max().item<double>(), 6.0 + 12.0 / 255.0);
}

TEST(Convert, RefusedLayerIsNamedOrFallsBackToFp32) {
  ASSERT_TRUE(UseEngine("onednn"));
  auto c = Prepare("compact_cnn", true);
  ConvertOptions o;
  o.weight_spec.scheme = QScheme::kAffine;  // onednn only takes symmetric weights
  const auto refused = Convert(c.model, c.plan, c.qparams, o);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(refused.error().message.find("layer 'block1.conv' (conv2d): engine 'onednn' cannot quantize it"),
            std::string::npos)
      << refused.error().message;
  o.allow_fp32_fallback = true;
  auto fallback = Convert(c.model, c.plan, c.qparams, o);
  ASSERT_TRUE(fallback) << fallback.error().ToString();
  EXPECT_EQ((*fallback)->Fp32Layers().size(), 5u);
  EXPECT_EQ((*fallback)->Predict(torch::randn({2, 1, 28, 28})).sizes(), (std::vector<int64_t>{2, 10}));
}

// What each engine takes, as README states it: onednn runs per-tensor and
// per-channel symmetric weights (affine refused by name, above); qnnpack runs
// all four of per-tensor / per-channel x symmetric / affine. Each combination
// must stay close to FP32, so a kernel that silently mishandles one fails.
TEST(Convert, EachEngineRunsTheWeightGranularitiesItClaims) {
  auto c = Prepare("compact_cnn", true);
  const auto x = torch::randn({16, 1, 28, 28});
  torch::Tensor reference;
  {
    torch::NoGradGuard no_grad;
    reference = c.model->forward(x);
  }
  for (const auto& engine : SupportedEngines()) {
    ASSERT_TRUE(UseEngine(engine));
    for (bool per_channel : {false, true}) {
      for (QScheme scheme : {QScheme::kSymmetric, QScheme::kAffine}) {
        if (engine == "onednn" && scheme == QScheme::kAffine) continue;
        ConvertOptions o;
        o.per_channel = per_channel;
        o.weight_spec.scheme = scheme;
        const std::string what = fmt::format("{} per_channel={} affine={}", engine, per_channel,
                                             scheme == QScheme::kAffine);
        auto q = Convert(c.model, c.plan, c.qparams, o);
        ASSERT_TRUE(q) << what << ": " << q.error().ToString();
        const auto out = (*q)->Predict(x);
        const double relative = ((out - reference).pow(2).sum() / reference.pow(2).sum()).item<double>();
        EXPECT_LT(relative, 0.05) << what;
      }
    }
  }
  ASSERT_TRUE(UseEngine(DefaultEngine()));
}

TEST(Convert, Fp32LayersStayFp32AndNeighboursStayInt8) {
  ASSERT_TRUE(UseEngine(DefaultEngine()));
  auto c = Prepare("compact_cnn", true);
  ConvertOptions o;
  o.fp32_layers = {"block2.conv"};
  auto q = Convert(c.model, c.plan, c.qparams, o);
  ASSERT_TRUE(q);
  EXPECT_EQ((*q)->Fp32Layers(), (std::vector<std::string>{"block2.conv"}));
  const auto values = (*q)->RunKeepingValues(torch::randn({2, 1, 28, 28}));
  // block2's output is read by an INT8 layer (through the pool), so it is requantized.
  EXPECT_TRUE(values[c.model->graph().Find("block2.relu")].is_quantized());
  o.fp32_layers = {"no_such_layer"};
  const auto bad = Convert(c.model, c.plan, c.qparams, o);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "fp32 layer 'no_such_layer' is not a layer of this model");
}

TEST(Convert, SaveLoadRoundTripOnEveryEngineAndSizeIsAQuarter) {
  TempDir dir;
  auto c = Prepare("compact_cnn", true);
  ASSERT_TRUE(models::SaveModel(c.model, dir.File("fp32.pt")));
  for (const auto& engine : SupportedEngines()) {
    ASSERT_TRUE(UseEngine(engine));
    auto q = *Convert(c.model, c.plan, c.qparams, {});
    const std::string path = dir.File("int8_" + engine + ".pt");
    ASSERT_TRUE(q->Save(path));
    auto loaded = QuantizedModel::Load(path);
    ASSERT_TRUE(loaded) << loaded.error().ToString();
    EXPECT_EQ((*loaded)->engine(), engine);
    const auto x = torch::randn({4, 1, 28, 28});
    EXPECT_TRUE(torch::equal(q->Predict(x), (*loaded)->Predict(x))) << engine;
    const double ratio = static_cast<double>(*FileSize(path)) / static_cast<double>(*FileSize(dir.File("fp32.pt")));
    EXPECT_LT(ratio, 0.3) << engine;
    // Per layer: int8 weights are a quarter of FP32, plus biases and scales.
    const auto layers = (*loaded)->LayerSizes();
    ASSERT_EQ(layers.size(), q->Int8Layers().size());
    int64_t fp32 = 0, stored = 0;
    for (const auto& l : layers) {
      EXPECT_TRUE(l.int8) << l.layer;
      fp32 += l.fp32_bytes;
      stored += l.stored_bytes;
    }
    EXPECT_GT(stored * 4, fp32) << engine;
    EXPECT_LT(stored * 10, fp32 * 3) << engine;
  }
  // Unfolded: INT8 batch-norm steps carry float weight, bias, mean and var,
  // which must come back as four distinct tensors.
  auto unfolded = Prepare("compact_cnn", false);
  auto q = *Convert(unfolded.model, unfolded.plan, unfolded.qparams, {});
  ASSERT_TRUE(q->Save(dir.File("unfolded.pt")));
  auto loaded = *QuantizedModel::Load(dir.File("unfolded.pt"));
  const auto x = torch::randn({4, 1, 28, 28});
  EXPECT_TRUE(torch::equal(q->Predict(x), loaded->Predict(x)));
  std::filesystem::resize_file(dir.File("int8_onednn.pt"), 1000);
  const auto truncated = QuantizedModel::Load(dir.File("int8_onednn.pt"));
  ASSERT_FALSE(truncated);
  EXPECT_EQ(truncated.error().code, ErrorCode::kCorruption);
  EXPECT_NE(truncated.error().message.find("is not a readable LibTorch archive (PytorchStreamReader"),
            std::string::npos)
      << truncated.error().message;
}

// A file quantized with 8-bit weights where the kernels do not saturate (a
// CPU with VNNI) and loaded where they do is named at load, layer by layer;
// 7-bit weights, as the strategies quantize on such CPUs, never are.
TEST(Convert, LoadWarnsOfEightBitWeightsOnlyWhereThisCpuSaturatesThem) {
  TempDir dir;
  auto c = Prepare("compact_cnn", true);
  for (const auto& engine : SupportedEngines()) {
    SCOPED_TRACE(engine);
    ASSERT_TRUE(UseEngine(engine));
    ConvertOptions eight_bits, fitted;
    FitWeightsToEngine(fitted, engine);
    ASSERT_TRUE((*Convert(c.model, c.plan, c.qparams, eight_bits))->Save(dir.File("8.pt")));
    ASSERT_TRUE((*Convert(c.model, c.plan, c.qparams, fitted))->Save(dir.File("fitted.pt")));

    std::ostringstream log;
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log);
    Log("quant")->sinks().push_back(sink);
    auto loaded = QuantizedModel::Load(dir.File("8.pt"));
    auto loaded_fitted = QuantizedModel::Load(dir.File("fitted.pt"));
    Log("quant")->sinks().pop_back();
    ASSERT_TRUE(loaded) << loaded.error().ToString();
    ASSERT_TRUE(loaded_fitted) << loaded_fitted.error().ToString();

    EXPECT_TRUE((*loaded_fitted)->LayersSaturatingOnThisCpu().empty());
    if (U8S8PairsSaturate(engine)) {
      // Symmetric 8-bit weights reach 127 in every layer.
      EXPECT_EQ((*loaded)->LayersSaturatingOnThisCpu(), (*loaded)->Int8Layers());
      EXPECT_NE(log.str().find("INT8 model file '" + dir.File("8.pt") + "' has 8-bit weights in block1.conv, "),
                std::string::npos)
          << log.str();
      EXPECT_EQ(log.str().find("fitted.pt"), std::string::npos) << log.str();
    } else {
      EXPECT_TRUE((*loaded)->LayersSaturatingOnThisCpu().empty());
      EXPECT_EQ(log.str(), "");
    }
  }
}

TEST(LayerMse, NamesEveryInt8LayerAndIsSmall) {
  ASSERT_TRUE(UseEngine(DefaultEngine()));
  auto c = Prepare("compact_cnn", false);
  auto q = *Convert(c.model, c.plan, c.qparams, {});
  const auto mse = LayerwiseMse(c.model, *q, torch::randn({8, 1, 28, 28}));
  ASSERT_TRUE(mse) << mse.error().ToString();
  ASSERT_EQ(mse->size(), 8u);  // 3 conv + 3 bn + 2 linear
  EXPECT_EQ((*mse)[0]["layer"], "block1.conv");
  for (const auto& row : *mse) EXPECT_LT(row["relative_mse"].get<double>(), 0.05) << row.dump();
}

}  // namespace
}  // namespace qg::quant
