// The importer on files PyTorch writes (tests/fixtures/make_onnx_models.py):
// torchvision's models and an op zoo import, compute what ONNX Runtime
// computes on the same file, and bad files are refused naming the culprit.
#include "core/export/onnx_import.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <functional>
#include <set>
#include <stdexcept>

#include "core/base/files.h"
#include "core/export/onnx_export.h"
#include "core/export/onnx_file.h"
#include "core/export/ort_runtime.h"
#include "tests/testing/dataset_fixtures.h"
#include "tests/testing/onnx_fixtures.h"
#include "tests/testing/temp_dir.h"

namespace qg::onnx_export {
namespace {

using ::testing::HasSubstr;

std::string Fixture(const std::string& name) {
  std::string error;
  std::string path = qg::testing::OnnxFixture(name, &error);
  EXPECT_FALSE(path.empty()) << error;
  return path;
}

double MaxAbsDiff(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

// `m` written as is to `name` in `dir` (past WriteOnnxFile's checker: a file
// anything could have written); empty where it could not be.
std::string WriteAsIs(const qg::testing::TempDir& dir, const std::string& name, const onnx::ModelProto& m) {
  const std::string path = dir.File(name);
  std::string bytes;
  const bool written = m.SerializeToString(&bytes) && WriteFileAtomic(path, bytes).has_value();
  EXPECT_TRUE(written) << path;
  return written ? path : std::string();
}

// "imported", or the one-line message the file is refused with.
std::string ImportOrRefusal(const std::string& path) {
  auto r = ImportOnnx(path);
  return r ? std::string("imported") : r.error().message;
}

class ImportMatchesOnnxRuntime : public ::testing::TestWithParam<const char*> {};

TEST_P(ImportMatchesOnnxRuntime, AtBatch1And4) {
  const std::string path = Fixture(GetParam());
  ASSERT_FALSE(path.empty());
  auto imported = ImportOnnx(path);
  ASSERT_TRUE(imported) << imported.error().ToString();
  EXPECT_EQ(imported->in_channels, 3);
  EXPECT_EQ(imported->num_classes, 10);
  EXPECT_EQ(imported->opset, 13);
  EXPECT_EQ(imported->sha256.size(), 64u);
  auto ort = OnnxRuntime::Find();
  ASSERT_TRUE(ort) << ort.error().ToString();
  torch::manual_seed(3);
  const int64_t size = imported->image_size;
  for (int64_t batch : {1, 4}) {
    const torch::Tensor x = torch::randn({batch, 3, size, size});
    torch::Tensor ours;
    {
      torch::NoGradGuard no_grad;
      ours = imported->model->forward(x).contiguous();
    }
    auto theirs = ort->Predict(path, x, batch, 2);
    ASSERT_TRUE(theirs) << theirs.error().ToString();
    ASSERT_EQ(ours.sizes(), theirs->sizes());
    const double diff = MaxAbsDiff(ours, *theirs);
    std::cout << GetParam() << " imported FP32 vs ONNX Runtime, batch " << batch << ": max abs " << diff
              << " (logit scale " << theirs->abs().max().item<double>() << ")\n";
    EXPECT_LE(diff, 1e-4) << GetParam() << " batch " << batch;
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ImportMatchesOnnxRuntime,
                         ::testing::Values("resnet18", "mobilenet_v2", "squeezenet1_1", "googlenet",
                                           "mobilenet_v3_small", "shufflenet_v2_x0_5", "efficientnet_b0", "op_zoo",
                                           "auto_pad", "channel_split", "convnext"));

// ConvNeXt's block transposes to N,H,W,C, normalizes each position over its
// channels (nine nodes at opset 13), runs MatMul, GELU (five nodes), MatMul,
// transposes back and scales by a constant per channel. quantgrid's graph
// stays N,C,H,W: a channel LayerNorm, 1x1 convs, GELU, the scale folded into
// the second conv. (It matches ONNX Runtime: ImportMatchesOnnxRuntime.)
TEST(OnnxImport, ConvNextBlocksBecomeChannelLayerNormsOneByOneConvsAndGelu) {
  auto convnext = ImportOnnx(Fixture("convnext"));
  ASSERT_TRUE(convnext) << convnext.error().ToString();
  int layer_norms = 0, gelus = 0, pointwise = 0, depthwise = 0, muls = 0;
  for (const auto& n : convnext->model->graph().nodes) {
    layer_norms += n.op == models::Op::kLayerNorm;
    gelus += n.op == models::Op::kGELU;
    pointwise += n.op == models::Op::kConv2d && n.kernel == std::array<int64_t, 2>{1, 1} && n.bias;
    depthwise += n.op == models::Op::kConv2d && n.kernel == std::array<int64_t, 2>{7, 7} && n.groups == n.in_channels;
    muls += n.op == models::Op::kMul;
  }
  EXPECT_EQ(layer_norms, 1 + 4 + 1 + 1);  // after the stem, in 4 blocks, before the downsampling, the head's
  EXPECT_EQ(gelus, 4);
  EXPECT_EQ(pointwise, 2 * 4);
  EXPECT_EQ(depthwise, 4);
  EXPECT_EQ(muls, 0);  // each layer scale is in its conv's weights
}

// A decomposed LayerNorm or GELU whose inner value is read outside it (here:
// made a graph output) is not fused; its first node is then refused by name.
TEST(OnnxImport, ALayerNormOrGeluIsFusedOnlyWhenItsInnerValuesStayInside) {
  auto original = ReadOnnxFile(Fixture("convnext"));
  ASSERT_TRUE(original) << original.error().ToString();
  qg::testing::TempDir dir;
  auto import_with_output_of = [&](const std::string& op) -> std::string {
    onnx::ModelProto m = *original;
    for (const auto& n : m.graph().node()) {
      if (n.op_type() != op) continue;
      auto* out = m.mutable_graph()->add_output();
      out->set_name(n.output(0));
      out->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto_DataType_FLOAT);
      auto* shape = out->mutable_type()->mutable_tensor_type()->mutable_shape();
      for (int d = 0; d < 4; ++d) shape->add_dim();  // N,H,W,C, sizes left open
      break;
    }
    return ImportOrRefusal(WriteAsIs(dir, op + ".onnx", m));
  };
  const std::string sqrt = import_with_output_of("Sqrt");
  EXPECT_THAT(sqrt, HasSubstr("features.0.1/ReduceMean' (ReduceMean): reads"));
  EXPECT_THAT(sqrt, HasSubstr("transposed to N,H,W,C"));
  const std::string erf = import_with_output_of("Erf");
  EXPECT_THAT(erf, HasSubstr("has op type 'Div'"));
  EXPECT_THAT(erf, HasSubstr("only where it computes a shape"));
}

// Channels taken apart: Split into its sizes, Slice with constant bounds (a
// negative end counts from the last channel), and ShuffleNetV2's Slice whose
// bounds Shape nodes compute from a value shape inference leaves unknown.
TEST(OnnxImport, SplitsAndSlicesOfChannelsBecomeSliceNodes) {
  auto split = ImportOnnx(Fixture("channel_split"));
  ASSERT_TRUE(split) << split.error().ToString();
  std::vector<std::array<int64_t, 3>> slices;  // start, count, of
  for (const auto& n : split->model->graph().nodes) {
    if (n.op == models::Op::kSlice) slices.push_back({n.start, n.out_channels, n.in_channels});
  }
  EXPECT_EQ(slices, (std::vector<std::array<int64_t, 3>>{{0, 6, 16}, {6, 10, 16}, {2, 7, 10}, {0, 6, 10}}));
  auto shufflenet = ImportOnnx(Fixture("shufflenet_v2_x0_5"));
  ASSERT_TRUE(shufflenet) << shufflenet.error().ToString();
  int halves = 0, shuffles = 0;
  for (const auto& n : shufflenet->model->graph().nodes) {
    halves += n.op == models::Op::kSlice && n.out_channels * 2 == n.in_channels;
    shuffles += n.op == models::Op::kChannelShuffle;
  }
  EXPECT_EQ(halves, 2 * 13);  // both halves of each of the 13 blocks that split (3 + 7 + 3)
  EXPECT_EQ(shuffles, 16);
}

TEST(OnnxImport, KeepsBatchNormAndDepthwiseGroupsAndTheOpZoosOps) {
  auto mobilenet = ImportOnnx(Fixture("mobilenet_v2"));
  ASSERT_TRUE(mobilenet) << mobilenet.error().ToString();
  int bn = 0, depthwise = 0, clamps = 0;
  for (const auto& n : mobilenet->model->graph().nodes) {
    bn += n.op == models::Op::kBatchNorm2d;
    depthwise += n.op == models::Op::kConv2d && n.groups > 1 && n.groups == n.in_channels;
    clamps += n.op == models::Op::kClamp && n.clamp_min == 0 && n.clamp_max == 6;
  }
  EXPECT_EQ(bn, 52);  // kept as BN, so BN folding has work to do
  EXPECT_EQ(depthwise, 17);
  EXPECT_EQ(clamps, 35);

  auto zoo = ImportOnnx(Fixture("op_zoo"));
  ASSERT_TRUE(zoo) << zoo.error().ToString();
  std::set<models::Op> ops;
  bool dilated = false, padded_pool = false;
  for (const auto& n : zoo->model->graph().nodes) {
    ops.insert(n.op);
    dilated |= n.op == models::Op::kConv2d && n.dilation == std::array<int64_t, 2>{2, 2};
    padded_pool |= n.op == models::Op::kAvgPool2d;
  }
  for (auto op : {models::Op::kLeakyReLU, models::Op::kClamp, models::Op::kHardSigmoid, models::Op::kSigmoid,
                  models::Op::kMul, models::Op::kConcat, models::Op::kChannelShuffle, models::Op::kLinear}) {
    EXPECT_TRUE(ops.count(op)) << models::OpName(op);
  }
  EXPECT_TRUE(dilated);
  EXPECT_TRUE(padded_pool);
}

TEST(OnnxImport, TheInputSizeComesFromTheOptionsWhenTheFileDoesNotSayIt) {
  // The torchvision fixtures fix 96x96; a contradicting size is refused.
  auto clash = ImportOnnx(Fixture("resnet18"), {.image_size = 128});
  ASSERT_FALSE(clash);
  EXPECT_THAT(clash.error().message, HasSubstr("the file says image size 96, the spec 128"));
}

// Finding and editing nodes of a fixture for the mutation tests below.
onnx::NodeProto& FirstNode(onnx::ModelProto& m, const std::string& op) {
  for (auto& n : *m.mutable_graph()->mutable_node()) {
    if (n.op_type() == op) return n;
  }
  throw std::runtime_error("no " + op);
}

onnx::NodeProto& Producer(onnx::ModelProto& m, const std::string& value) {
  for (auto& n : *m.mutable_graph()->mutable_node()) {
    if (n.output_size() > 0 && n.output(0) == value) return n;
  }
  throw std::runtime_error("no producer of " + value);
}

onnx::NodeProto& SoleReader(onnx::ModelProto& m, const std::string& value) {
  onnx::NodeProto* reader = nullptr;
  for (auto& n : *m.mutable_graph()->mutable_node()) {
    if (std::find(n.input().begin(), n.input().end(), value) == n.input().end()) continue;
    if (reader) throw std::runtime_error(value + " has several readers");
    reader = &n;
  }
  if (!reader) throw std::runtime_error("no reader of " + value);
  return *reader;
}

struct Mutation {
  const char* what;
  std::function<void(onnx::ModelProto&)> apply;
  bool imports;              // what the mutated file computes can be imported as written
  std::string refusal = {};  // where refused: part of the one-line message
};

// Each mutation of `fixture` must be refused in one line, or imported as
// what ONNX Runtime computes on the mutated file.
void ExpectRefusedOrImportedAsWritten(const std::string& fixture, const std::vector<Mutation>& mutations) {
  auto original = ReadOnnxFile(Fixture(fixture));
  ASSERT_TRUE(original) << original.error().ToString();
  auto ort = OnnxRuntime::Find();
  ASSERT_TRUE(ort) << ort.error().ToString();
  qg::testing::TempDir dir;
  for (const auto& mutation : mutations) {
    SCOPED_TRACE(mutation.what);
    onnx::ModelProto m = *original;
    mutation.apply(m);
    const std::string path = WriteAsIs(dir, "mutated.onnx", m);
    ASSERT_FALSE(path.empty());
    auto imported = ImportOnnx(path);
    EXPECT_EQ(static_cast<bool>(imported), mutation.imports) << (imported ? "imported" : imported.error().message);
    if (!imported) {
      EXPECT_EQ(imported.error().message.find('\n'), std::string::npos);
      EXPECT_THAT(imported.error().message, HasSubstr(mutation.refusal));
      continue;
    }
    torch::manual_seed(5);
    const torch::Tensor x = torch::randn({2, 3, imported->image_size, imported->image_size});
    torch::Tensor ours;
    {
      torch::NoGradGuard no_grad;
      ours = imported->model->forward(x).contiguous();
    }
    auto theirs = ort->Predict(path, x, 2, 2);
    ASSERT_TRUE(theirs) << theirs.error().ToString();
    std::cout << fixture << " with " << mutation.what << " vs ONNX Runtime on " << imported->image_size << "x"
              << imported->image_size << " images: max abs " << MaxAbsDiff(ours, *theirs) << "\n";
    EXPECT_LE(MaxAbsDiff(ours, *theirs), 1e-4);
  }
}

// Each mutation makes the first decomposed LayerNorm or GELU of the ConvNeXt
// fixture compute something else: never fuse a pattern into an op the file
// does not compute.
TEST(OnnxImport, AMutatedLayerNormOrGeluIsRefusedOrImportedAsWritten) {
  auto set_scalar = [&](onnx::ModelProto& m, const std::string& value, float v) {
    auto* t = Producer(m, value).mutable_attribute(0)->mutable_t();  // a Constant's value
    t->clear_raw_data();
    t->clear_float_data();
    t->add_float_data(v);
  };
  auto swap_inputs = [](onnx::NodeProto& n) {
    std::string a = n.input(0);
    n.set_input(0, n.input(1));
    n.set_input(1, a);
  };
  ExpectRefusedOrImportedAsWritten(
      "convnext",
      {
          {"Sub's operands swapped", [&](auto& m) { swap_inputs(FirstNode(m, "Sub")); }, false},
          {"Div's operands swapped", [&](auto& m) { swap_inputs(FirstNode(m, "Div")); }, false},
          {"Pow's exponent 3", [&](auto& m) { set_scalar(m, FirstNode(m, "Pow").input(1), 3.0f); }, false},
          {"a mean over axis -2", [&](auto& m) { FirstNode(m, "ReduceMean").mutable_attribute(0)->set_ints(0, -2); },
           false},
          {"eps 0.5", [&](auto& m) { set_scalar(m, FirstNode(m, "Add").input(1), 0.5f); }, true},
          {"Erf of x / 2", [&](auto& m) { set_scalar(m, Producer(m, FirstNode(m, "Erf").input(0)).input(1), 2.0f); },
           false},
      });
}

// The constant added after the ConvNeXt fixture's first MatMul (over N,H,W,C)
// is its bias only when it runs along the channels, the last axis: [1, 1, 1,
// C] is one; [C, 1] or [C, 1, 1] would add along the width or the height.
// Here, where neither is C, ONNX's shape inference refuses those, naming the
// Add; where one is, the importer's own check does, naming it too.
TEST(OnnxImport, AConstantAddedAfterAMatMulIsItsBiasOnlyAlongTheChannels) {
  auto reshape_bias = [](onnx::ModelProto& m, std::vector<int64_t> dims) {
    const onnx::NodeProto& add = SoleReader(m, FirstNode(m, "MatMul").output(0));
    ASSERT_EQ(add.op_type(), "Add");
    for (auto& t : *m.mutable_graph()->mutable_initializer()) {
      if (t.name() != add.input(0) && t.name() != add.input(1)) continue;
      int64_t count = 1;
      for (int64_t d : t.dims()) count *= d;
      for (auto& d : dims) d = d < 0 ? count : d;
      t.clear_dims();
      for (int64_t d : dims) t.add_dims(d);
      return;
    }
    FAIL() << "the Add after the first MatMul reads no initializer";
  };
  auto bias_of_shape = [&](std::vector<int64_t> dims) { return [=](onnx::ModelProto& m) { reshape_bias(m, dims); }; };
  // 384x384 images make the first block 96 wide and high, its expanded
  // channel count, so [C, 1] and [C, 1, 1] pass shape inference.
  auto at_384_with_bias = [&](std::vector<int64_t> dims) {
    return [=](onnx::ModelProto& m) {
      m.mutable_graph()->clear_value_info();
      auto* shape = m.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape();
      shape->mutable_dim(2)->set_dim_value(384);
      shape->mutable_dim(3)->set_dim_value(384);
      reshape_bias(m, dims);
    };
  };
  const std::string kTheAdd = "/features/features.1/features.1.0/block/block.3/Add";
  const std::string kAlongTheWidthOrHeight = kTheAdd +
                                             "' (Add): adds to a MatMul's output a constant that is not one "
                                             "value per channel along its channels";
  ExpectRefusedOrImportedAsWritten(
      "convnext", {{"a [1, 1, 1, C] bias", bias_of_shape({1, 1, 1, -1}), true},
                   {"a [C, 1] bias", bias_of_shape({-1, 1}), false, kTheAdd},
                   {"a [C, 1, 1] bias", bias_of_shape({-1, 1, 1}), false, kTheAdd},
                   {"384x384, a [1, 1, 1, C] bias", at_384_with_bias({1, 1, 1, -1}), true},
                   {"384x384, a [C, 1] bias", at_384_with_bias({-1, 1}), false, kAlongTheWidthOrHeight},
                   {"384x384, a [C, 1, 1] bias", at_384_with_bias({-1, 1, 1}), false, kAlongTheWidthOrHeight}});
}

TEST(OnnxImport, AnUnsupportedOpIsNamedWithItsNodeAndTheSupportedSet) {
  auto r = ImportOnnx(Fixture("bad_softplus"));
  ASSERT_FALSE(r);
  const std::string& m = r.error().message;
  EXPECT_THAT(m, HasSubstr("bad_softplus.onnx"));
  EXPECT_THAT(m, HasSubstr("node '/Softplus' has op type 'Softplus'"));  // torch.onnx's node name
  EXPECT_THAT(m, HasSubstr("supported: Conv, BatchNormalization"));
  EXPECT_EQ(m.find('\n'), std::string::npos);
}

TEST(OnnxImport, AFlatInputIsRefused) {
  auto r = ImportOnnx(Fixture("bad_flat_input"));
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr("input 'input' is 2-D"));
}

TEST(OnnxImport, AnOpsetOutsideTheRangeIsRefused) {
  auto r = ImportOnnx(Fixture("bad_opset9"));
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr("opset 9 is outside the 11..17"));
}

TEST(OnnxImport, TruncatedAndMissingFilesNameThePath) {
  qg::testing::TempDir dir;
  const std::string path = dir.File("cut.onnx");
  std::filesystem::copy_file(Fixture("op_zoo"), path);
  qg::testing::TruncateFile(path, std::filesystem::file_size(path) / 2);
  auto cut = ImportOnnx(path);
  ASSERT_FALSE(cut);
  EXPECT_THAT(cut.error().message, HasSubstr(path));
  EXPECT_EQ(cut.error().code, ErrorCode::kCorruption) << cut.error().ToString();

  auto missing = ImportOnnx(dir.File("nope.onnx"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_THAT(missing.error().message, HasSubstr("nope.onnx"));
}

TEST(OnnxImport, AnAsymmetricPadIsRefusedNotDropped) {
  // A Conv with pads [0, 0, 1, 1], built by hand: nothing silently shifts.
  qg::testing::TempDir dir;
  auto proto = ReadOnnxFile(Fixture("auto_pad"));
  ASSERT_TRUE(proto) << proto.error().ToString();
  auto* conv = proto->mutable_graph()->mutable_node(0);
  conv->clear_attribute();
  auto* kernel = conv->add_attribute();
  kernel->set_name("kernel_shape");
  kernel->set_type(onnx::AttributeProto::INTS);
  kernel->add_ints(3);
  kernel->add_ints(3);
  auto* pads = conv->add_attribute();
  pads->set_name("pads");
  pads->set_type(onnx::AttributeProto::INTS);
  for (int p : {0, 0, 1, 1}) pads->add_ints(p);
  // Keep the shapes consistent for the checker: 30x30 after the conv.
  const std::string path = dir.File("asym.onnx");
  ASSERT_TRUE(WriteOnnxFile(*proto, path));
  auto r = ImportOnnx(path);
  ASSERT_FALSE(r);
  EXPECT_THAT(r.error().message, HasSubstr("conv_same"));
  EXPECT_THAT(r.error().message, HasSubstr("asymmetric padding"));
}

// Splits and slices the importer cannot express are refused naming the node,
// and a stride of 0 is an error, not a division by zero inside ONNX's shape
// inference.
TEST(OnnxImport, ASplitOrSliceOfAnotherShapeIsRefusedNamingTheNode) {
  auto original = ReadOnnxFile(Fixture("channel_split"));
  ASSERT_TRUE(original) << original.error().ToString();
  // The Constant `input` of the first node of type `op` reads, set to `values`.
  auto set_input = [](onnx::ModelProto& m, const std::string& op, int input, std::vector<int64_t> values) {
    onnx::NodeProto& constant = Producer(m, FirstNode(m, op).input(input));
    if (constant.op_type() != "Constant") return false;
    auto* t = constant.mutable_attribute(0)->mutable_t();
    t->clear_dims();
    t->add_dims(static_cast<int64_t>(values.size()));
    t->set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(int64_t)));
    return true;
  };
  qg::testing::TempDir dir;
  auto refused = [&](const onnx::ModelProto& m) { return ImportOrRefusal(WriteAsIs(dir, "mutated.onnx", m)); };
  // Sizes that do not add up: ONNX's checker already names the node (the
  // importer's own check is for channels shape inference does not know).
  auto split = *original;
  ASSERT_TRUE(set_input(split, "Split", 1, {5, 5}));
  EXPECT_THAT(refused(split), HasSubstr("node name: /Split"));
  ASSERT_TRUE(set_input(split, "Split", 1, {INT64_MAX, INT64_MAX}));
  EXPECT_THAT(refused(split), HasSubstr("node name: /Split"));
  auto stepped = *original;
  ASSERT_TRUE(set_input(stepped, "Slice", 4, {2}));
  EXPECT_THAT(refused(stepped), HasSubstr("(Slice): only a slice with step 1 is imported"));
  auto batch = *original;
  ASSERT_TRUE(set_input(batch, "Slice", 3, {0}));  // the batch
  EXPECT_THAT(refused(batch), HasSubstr("only a slice of channels (axis 1) is imported"));
  auto still = *original;
  auto* conv = still.mutable_graph()->mutable_node(0);
  for (auto& attr : *conv->mutable_attribute()) {
    if (attr.name() == "strides") {
      attr.clear_ints();
      attr.add_ints(0);
      attr.add_ints(0);
    }
  }
  EXPECT_THAT(refused(still), HasSubstr("(Conv): strides must be positive"));  // was a SIGFPE in libonnx
  auto ungrouped = *original;
  auto* group = ungrouped.mutable_graph()->mutable_node(0)->add_attribute();
  group->set_name("group");
  group->set_type(onnx::AttributeProto::INT);
  group->set_i(0);
  EXPECT_THAT(refused(ungrouped), HasSubstr("(Conv): group must be positive"));
}

}  // namespace
}  // namespace qg::onnx_export
