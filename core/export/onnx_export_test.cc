#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <map>

#include <fmt/format.h>

#include "core/base/files.h"
#include "core/data/data_loader.h"
#include "core/data/dataset_registry.h"
#include "core/export/onnx_export.h"
#include "core/export/onnx_file.h"
#include "core/export/ort_runtime.h"
#include "core/export/ort_timer.h"
#include "core/metrics/output_diff.h"
#include "core/models/model_registry.h"
#include "core/quant/engine.h"
#include "core/quant/quantized_model.h"
#include "core/quant/strategy.h"
#include "core/train/trainer.h"
#include "core/export/export_test_models.h"
#include "tests/testing/dataset_fixtures.h"
#include "tests/testing/temp_dir.h"

namespace qg::onnx_export {
namespace {

using qg::testing::TempDir;

double MaxAbsDiff(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

class Fp32Export : public ::testing::TestWithParam<const char*> {};

TEST_P(Fp32Export, OnnxRuntimeMatchesLibTorchAtBatch8AndBatch1) {
  const models::ModelOptions options{.in_channels = 3, .image_size = 32, .num_classes = 10};
  auto model = RandomModel(GetParam(), options);
  TempDir dir;
  const std::string path = dir.File("model.onnx");
  auto proto = ExportFp32(model);
  ASSERT_TRUE(proto) << proto.error().ToString();
  ASSERT_TRUE(WriteOnnxFile(*proto, path));
  auto ort = OnnxRuntime::Find();
  ASSERT_TRUE(ort) << ort.error().ToString();
  torch::manual_seed(1);
  for (int64_t batch : {8, 1}) {
    const torch::Tensor x = torch::randn({batch, 3, 32, 32});
    torch::Tensor expected;
    {
      torch::NoGradGuard no_grad;
      expected = model->forward(x).contiguous();
    }
    auto got = ort->Predict(path, x, batch, 2);
    ASSERT_TRUE(got) << got.error().ToString();
    ASSERT_EQ(got->sizes(), expected.sizes());
    const double diff = MaxAbsDiff(*got, expected);
    std::cout << GetParam() << " FP32 ONNX Runtime vs LibTorch, batch " << batch << ": max abs " << diff << "\n";
    EXPECT_LE(diff, 1e-4) << GetParam() << " batch " << batch;
  }
}

INSTANTIATE_TEST_SUITE_P(Models, Fp32Export, ::testing::Values("compact_cnn", "resnet18_cifar"));

// FP16: every float initializer half (the file about half the size), a Cast
// at each end so callers keep float32, and ONNX Runtime's answer close to
// LibTorch's FP32 on the same half-rounded weights (ONNX Runtime wraps the
// ops it has no FP16 CPU kernel for in Casts of its own).
TEST(OnnxExport, Fp16GraphIsHalfTheSizeAndAgreesWithLibTorch) {
  const models::ModelOptions options{.in_channels = 3, .image_size = 32, .num_classes = 10};
  auto model = RandomModel("resnet18_cifar", options);
  {
    torch::NoGradGuard no_grad;
    model->to(torch::kHalf);
    model->to(torch::kFloat32);  // the weights the FP16 graph stores, in FP32
  }
  TempDir dir;
  auto fp32 = ExportFp32(model);
  ASSERT_TRUE(fp32) << fp32.error().ToString();
  auto fp16 = ToFp16(*fp32);
  ASSERT_TRUE(fp16) << fp16.error().ToString();
  for (const auto& init : fp16->graph().initializer()) {
    EXPECT_NE(init.data_type(), onnx::TensorProto_DataType_FLOAT) << init.name();
  }
  const auto& nodes = fp16->graph().node();
  ASSERT_GE(nodes.size(), 3);
  EXPECT_EQ(nodes[0].op_type(), "Cast");
  EXPECT_EQ(nodes[nodes.size() - 1].op_type(), "Cast");
  EXPECT_EQ(nodes[nodes.size() - 1].output(0), kOutputName);
  ASSERT_TRUE(WriteOnnxFile(*fp32, dir.File("fp32.onnx")));
  ASSERT_TRUE(WriteOnnxFile(*fp16, dir.File("fp16.onnx")));
  const double ratio = static_cast<double>(*FileSize(dir.File("fp16.onnx"))) / *FileSize(dir.File("fp32.onnx"));
  EXPECT_GT(ratio, 0.49);
  EXPECT_LT(ratio, 0.51);
  auto ort = OnnxRuntime::Find();
  ASSERT_TRUE(ort) << ort.error().ToString();
  torch::manual_seed(2);
  const torch::Tensor x = torch::randn({8, 3, 32, 32});
  torch::Tensor expected;
  {
    torch::NoGradGuard no_grad;
    expected = model->forward(x).contiguous();
  }
  auto got = ort->Predict(dir.File("fp16.onnx"), x, 8, 2);
  ASSERT_TRUE(got) << got.error().ToString();
  const double diff = MaxAbsDiff(*got, expected), scale = expected.abs().max().item<double>();
  std::cout << "FP16 ONNX Runtime vs LibTorch FP32 (same weights): max abs " << diff << " of " << scale << "\n";
  EXPECT_LT(diff, 2e-2 * scale);
  EXPECT_GE(got->argmax(1).eq(expected.argmax(1)).sum().item<int64_t>(), 7);  // of 8: a near tie may flip

  // What ONNX Runtime runs: its CPU provider has no FP16 convolution or Gemm
  // here, so it casts around them, folds the casts of the weights into FP32
  // initializers and cancels the casts between ops: the graph it runs is all
  // FP32 (FP16 halves the file, not the work). A kernel that appears would
  // show up here as a FLOAT16 initializer left in its graph.
  ASSERT_TRUE(ort->WriteOptimizedGraph(dir.File("fp16.onnx"), dir.File("fp16.ort.onnx"), 2));
  // Parsed, not checked: it holds ONNX Runtime's own (com.microsoft) ops.
  onnx::ModelProto optimized;
  std::ifstream in(dir.File("fp16.ort.onnx"), std::ios::binary);
  ASSERT_TRUE(optimized.ParseFromIstream(&in));
  std::map<std::string, int> ops;
  for (const auto& n : optimized.graph().node()) ++ops[n.op_type()];
  int half = 0, single = 0;
  for (const auto& init : optimized.graph().initializer()) {
    half += init.data_type() == onnx::TensorProto_DataType_FLOAT16;
    single += init.data_type() == onnx::TensorProto_DataType_FLOAT;
  }
  std::string listed;
  for (const auto& [op, n] : ops) listed += fmt::format(" {} x{}", op, n);
  std::cout << "ONNX Runtime's graph of the FP16 model:" << listed << "; initializers " << single << " FP32, " << half
            << " FP16\n";
  EXPECT_EQ(half, 0) << listed;
  EXPECT_GT(single, 0);
  EXPECT_GT(ops["Conv"], 0) << listed;
  EXPECT_LE(ops["Cast"], 2) << listed;
}

TEST(OnnxExport, EveryRegistryModelExportsAndPassesTheChecker) {
  for (const auto& name : models::KnownModels()) {
    const int64_t size = name == "inception_v3" ? 299 : 32;
    auto model = RandomModel(name, {.in_channels = 3, .image_size = size, .num_classes = 10});
    auto proto = ExportFp32(model);
    ASSERT_TRUE(proto) << name << ": " << proto.error().ToString();
    EXPECT_TRUE(CheckOnnxModel(*proto, name)) << name;
    EXPECT_EQ(proto->graph().input(0).type().tensor_type().shape().dim(0).dim_param(), "batch") << name;
  }
}

TEST(OnnxExport, TruncatedOrCorruptedFilesAreRejectedNamingThePath) {
  auto model = RandomModel("compact_cnn", {.in_channels = 1, .image_size = 28, .num_classes = 10});
  TempDir dir;
  const std::string path = dir.File("model.onnx");
  ASSERT_TRUE(WriteOnnxFile(*ExportFp32(model), path));
  ASSERT_TRUE(ReadOnnxFile(path));
  const int64_t size = *FileSize(path);

  const std::string truncated = dir.File("truncated.onnx");
  std::filesystem::copy_file(path, truncated);
  qg::testing::TruncateFile(truncated, size / 2);
  auto r = ReadOnnxFile(truncated);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kCorruption);
  EXPECT_NE(r.error().message.find(truncated), std::string::npos) << r.error().message;

  const std::string corrupted = dir.File("corrupted.onnx");
  std::string bytes = *ReadFile(path);
  for (size_t i = 0; i < 64 && i < bytes.size(); ++i) bytes[i] = static_cast<char>(0xff);
  ASSERT_TRUE(WriteFileAtomic(corrupted, bytes));
  r = ReadOnnxFile(corrupted);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find(corrupted), std::string::npos) << r.error().message;

  EXPECT_EQ(ReadOnnxFile(dir.File("missing.onnx")).error().code, ErrorCode::kNotFound);
  // ONNX Runtime itself refuses it with the path in a one-line error.
  auto ort = OnnxRuntime::Find();
  ASSERT_TRUE(ort) << ort.error().ToString();
  auto predicted = ort->Predict(truncated, torch::zeros({1, 1, 28, 28}), 1, 1);
  ASSERT_FALSE(predicted);
  EXPECT_NE(predicted.error().message.find("truncated.onnx"), std::string::npos) << predicted.error().message;
}

TEST(OnnxExport, AModelTheCheckerRejectsIsNotWritten) {
  auto proto = *ExportFp32(RandomModel("compact_cnn", {.in_channels = 1, .image_size = 28, .num_classes = 10}));
  proto.mutable_graph()->mutable_node(0)->set_op_type("NoSuchOp");
  TempDir dir;
  auto written = WriteOnnxFile(proto, dir.File("bad.onnx"));
  ASSERT_FALSE(written);
  EXPECT_NE(written.error().message.find("ONNX checker"), std::string::npos) << written.error().message;
  EXPECT_FALSE(std::filesystem::exists(dir.File("bad.onnx")));
}

// The acceptance case: compact_cnn trained on Fashion-MNIST, naive PTQ,
// exported as QDQ and run by ONNX Runtime on 1,000 test images.
TEST(QdqExport, NaivePtqCompactCnnAgreesWithLibTorchInt8OnFashionMnist) {
  auto splits = data::OpenDataset({.name = "fashion-mnist"});
  ASSERT_TRUE(splits) << splits.error().ToString();
  auto train_subset = data::SplitValidation(splits->train, 12000).val;  // 12k images: enough for ~85 %
  auto model = *models::CreateModel("compact_cnn", {.in_channels = 1, .image_size = 28, .num_classes = 10}, 0);
  train::TrainOptions o;
  o.epochs = 1;
  o.batch_size = 64;
  ASSERT_TRUE(train::Train(model, {.options = o, .train_set = train_subset}));
  model->eval();

  TempDir dir;
  const quant::Strategy* ptq = *quant::FindStrategy("naive_ptq");
  auto params = *ptq->ResolveParams({{"calibration_size", 512}}, "naive_ptq");
  auto applied = ptq->Apply({.fp32 = model, .train_set = train_subset, .engine = quant::DefaultEngine(),
                             .out_dir = dir.File("ptq")},
                            params);
  ASSERT_TRUE(applied) << applied.error().ToString();
  ASSERT_NE(applied->int8, nullptr);

  const std::string fp32_path = dir.File("fp32.onnx"), int8_path = dir.File("int8.onnx");
  ASSERT_TRUE(WriteOnnxFile(*ExportFp32(model), fp32_path));
  auto qdq = ExportQdq(*applied->int8);
  ASSERT_TRUE(qdq) << qdq.error().ToString();
  ASSERT_TRUE(WriteOnnxFile(*qdq, int8_path));
  const double ratio = static_cast<double>(*FileSize(int8_path)) / static_cast<double>(*FileSize(fp32_path));
  EXPECT_LE(ratio, 0.3);

  data::DataLoader loader(splits->test, {.batch_size = 1000, .prefetch = 0});
  auto batch = loader.Epoch(0)->Next();
  ASSERT_TRUE(batch && batch->has_value());
  const torch::Tensor images = (*batch)->images;
  ASSERT_EQ(images.size(0), 1000);
  const torch::Tensor libtorch = applied->int8->Predict(images);
  {
    auto reloaded = quant::QuantizedModel::Load(applied->model_path);
    ASSERT_TRUE(reloaded) << reloaded.error().ToString();
    const auto same = metrics::CompareOutputs(libtorch, (*reloaded)->Predict(images));
    EXPECT_EQ(same.top1_agreement, 100.0) << "reloaded INT8 model differs, max abs " << same.max_abs;
  }
  auto ort = OnnxRuntime::Find();
  ASSERT_TRUE(ort) << ort.error().ToString();
  auto onnx = ort->Predict(int8_path, images, 100, 2);
  ASSERT_TRUE(onnx) << onnx.error().ToString();
  const auto diff = metrics::CompareOutputs(libtorch, *onnx);
  std::cout << "QDQ vs LibTorch INT8 on 1000 images: agreement " << diff.top1_agreement << " %, max abs "
            << diff.max_abs << ", size ratio " << ratio << "\n";
  EXPECT_GE(diff.top1_agreement, 99.0);
}

// Residual quantized adds and global pooling through QDQ: ResNet-18 (random
// weights, calibrated on synthetic images) runs in ONNX Runtime and agrees.
TEST(QdqExport, Resnet18WithQuantizedResidualAddsRunsInOnnxRuntime) {
  TempDir dir;
  auto [splits, applied] =
      NaivePtqOnSynthetic("resnet18_cifar", {.in_channels = 3, .image_size = 32, .num_classes = 10}, 64, dir.File("ptq"));
  ASSERT_TRUE(applied) << applied.error().ToString();
  auto qdq = ExportQdq(*applied->int8);
  ASSERT_TRUE(qdq) << qdq.error().ToString();
  int adds = 0;
  for (const auto& node : qdq->graph().node()) adds += node.op_type() == "Add";
  EXPECT_EQ(adds, 8);  // one per basic block
  ASSERT_TRUE(WriteOnnxFile(*qdq, dir.File("int8.onnx")));

  data::DataLoader loader(splits.test, {.batch_size = 64, .prefetch = 0});
  const torch::Tensor images = (**loader.Epoch(0)->Next()).images;
  const torch::Tensor libtorch = applied->int8->Predict(images);
  auto onnx = OnnxRuntime::Find()->Predict(dir.File("int8.onnx"), images, 16, 2);
  ASSERT_TRUE(onnx) << onnx.error().ToString();
  const auto diff = metrics::CompareOutputs(libtorch, *onnx);
  std::cout << "resnet18 QDQ vs LibTorch INT8: agreement " << diff.top1_agreement << " %, relative MSE "
            << diff.relative_mse << "\n";
  EXPECT_GE(diff.top1_agreement, 90.0);
  EXPECT_LE(diff.relative_mse, 0.05);
}

// What ONNX Runtime makes of a QDQ export (its optimized graph, session
// option optimizedModelFilePath): every Conv and Gemm fused into its integer
// kernels (QLinearConv, QGemm or QLinearMatMul on u8 activations and s8
// weights), residual Adds into QLinearAdd, and no Q/DQ pair left between
// them: at most the input's QuantizeLinear and the output's DequantizeLinear.
// A change to the export that breaks a fusion fails here, not in a benchmark.
class QdqFusion : public ::testing::TestWithParam<const char*> {};

TEST_P(QdqFusion, EveryConvAndGemmRunsOnOnnxRuntimesIntegerKernels) {
  const std::string name = GetParam();
  const bool cifar = name != "compact_cnn";
  const models::ModelOptions options{.in_channels = cifar ? 3 : 1, .image_size = cifar ? 32 : 28, .num_classes = 10};
  TempDir dir;
  auto [splits, applied] = NaivePtqOnSynthetic(name, options, 16, dir.File("ptq"));
  ASSERT_TRUE(applied) << applied.error().ToString();
  auto qdq = ExportQdq(*applied->int8);
  ASSERT_TRUE(qdq) << qdq.error().ToString();
  std::map<std::string, int> exported;
  for (const auto& n : qdq->graph().node()) ++exported[n.op_type()];
  ASSERT_TRUE(WriteOnnxFile(*qdq, dir.File("int8.onnx")));
  auto ort = OnnxRuntime::Find();
  ASSERT_TRUE(ort) << ort.error().ToString();
  ASSERT_TRUE(ort->WriteOptimizedGraph(dir.File("int8.onnx"), dir.File("int8.ort.onnx"), 2));

  onnx::ModelProto optimized;
  std::ifstream in(dir.File("int8.ort.onnx"), std::ios::binary);
  ASSERT_TRUE(optimized.ParseFromIstream(&in));
  std::map<std::string, int> ops;  // by op type, whatever the domain (com.microsoft for QGemm, NHWC convs)
  for (const auto& n : optimized.graph().node()) ++ops[n.op_type()];
  std::string listed;
  for (const auto& [op, n] : ops) listed += fmt::format(" {} x{}", op, n);
  std::cout << name << ": exported " << exported["Conv"] << " Conv, " << exported["Gemm"] << " Gemm, "
            << exported["QuantizeLinear"] << " Q, " << exported["DequantizeLinear"]
            << " DQ; ONNX Runtime runs:" << listed << "\n";
  ASSERT_GT(exported["Conv"], 0);
  EXPECT_EQ(ops["Conv"] + ops["FusedConv"], 0) << listed;
  EXPECT_EQ(ops["Gemm"] + ops["MatMul"] + ops["FusedGemm"], 0) << listed;
  EXPECT_EQ(ops["QLinearConv"], exported["Conv"]) << listed;
  EXPECT_EQ(ops["QGemm"] + ops["QLinearMatMul"], exported["Gemm"]) << listed;
  EXPECT_EQ(ops["QLinearAdd"], exported["Add"]) << listed;
  EXPECT_LE(ops["QuantizeLinear"], 1) << listed;
  EXPECT_LE(ops["DequantizeLinear"], 1) << listed;
  // compact_cnn's first conv runs over groups of pixels (internal/pixel_groups.h):
  // ONNX Runtime's NHWC pass cancels every Transpose around it. Its pool reads
  // the conv's output as pairs of pixels, so it pools half as many.
  if (name == "compact_cnn") {
    EXPECT_EQ(ops["Transpose"], 0) << listed;
    int pair_views = 0;
    for (const auto& n : qdq->graph().node()) pair_views += n.name().ends_with(":pixel_pairs") ? 1 : 0;
    EXPECT_EQ(pair_views, 1);
  }
  // resnet18_cifar's first conv reads the colour image padded to 4 channels
  // (internal/padded_channels.h), on the fast kernel; nothing reads the
  // image unpadded.
  if (name == "resnet18_cifar") {
    EXPECT_EQ(exported["Pad"], 1);
    EXPECT_EQ(ops["Pad"], 1) << listed;
  }
}

INSTANTIATE_TEST_SUITE_P(Models, QdqFusion, ::testing::Values("compact_cnn", "resnet18_cifar"));

// One runner process answers every timing request of a round-by-round
// comparison; bad requests are refused without killing it, and a model it
// cannot load is named.
TEST(OrtTimer, OneSessionAnswersEveryRequestAndRefusesBadOnes) {
  const models::ModelOptions options{.in_channels = 1, .image_size = 28, .num_classes = 10};
  auto model = RandomModel("compact_cnn", options);
  TempDir dir;
  ASSERT_TRUE(WriteOnnxFile(*ExportFp32(model), dir.File("fp32.onnx")));
  auto ort = OnnxRuntime::Find();
  ASSERT_TRUE(ort) << ort.error().ToString();
  auto timer = OrtTimer::Open(*ort, dir.File("fp32.onnx"), {1, 28, 28}, 8, 2);
  ASSERT_TRUE(timer) << timer.error().ToString();
  for (int64_t batch : {8, 1, 8}) {
    auto stats = (*timer)->Time(batch, 2, 5);
    ASSERT_TRUE(stats) << stats.error().ToString();
    EXPECT_EQ(stats->batch_size, batch);
    EXPECT_EQ(stats->runs, 5);
    EXPECT_GT(stats->p50_ms, 0);
    EXPECT_LE(stats->min_ms, stats->p50_ms);
  }
  auto too_big = (*timer)->Time(9, 0, 1);
  ASSERT_FALSE(too_big);
  EXPECT_NE(too_big.error().ToString().find("batch 9 is outside 1..8"), std::string::npos) << too_big.error().ToString();
  auto no_runs = (*timer)->Time(1, 0, 0);  // the runner refuses it and stays up
  ASSERT_FALSE(no_runs);
  EXPECT_NE(no_runs.error().ToString().find("runs must be an integer >= 1"), std::string::npos)
      << no_runs.error().ToString();
  EXPECT_TRUE((*timer)->Time(1, 0, 2));

  auto missing = OrtTimer::Open(*ort, dir.File("missing.onnx"), {1, 28, 28}, 8, 2);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().ToString().find("missing.onnx"), std::string::npos) << missing.error().ToString();
}

}  // namespace
}  // namespace qg::onnx_export
