// QuantizedModel: a model whose forward pass runs LibTorch's INT8 operators
// on quantized tensors: packed quantized::conv2d / linear kernels called
// directly through their packed params, quantized::add / cat / batch_norm2d,
// quantized pooling. The input is quantized once, the prediction dequantized
// once. Layers left in FP32 (MPQ, fallback) dequantize their input and
// requantize their output when an INT8 layer reads it.
//
// Weights are packed once, at conversion or load, for the engine that was
// current then; keep that engine current while predicting. Not thread-safe:
// it reuses one value buffer across calls.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/base/result.h"
#include "core/models/inference_model.h"

namespace qg::quant {

namespace internal {
struct Step;
struct ConvPoolWeights;
struct SmallLinearWeights;
struct ByteTable;
struct ConcatShuffleTables;
}

class QuantizedModel final : public models::InferenceModel {
 public:
  QuantizedModel(std::vector<internal::Step> steps, int num_values, int prediction, std::string engine,
                 nlohmann::json meta);
  ~QuantizedModel() override;

  std::string Describe() const override;
  torch::Tensor Predict(const torch::Tensor& images) override;
  // A conv run together with the max pool it feeds (FusedConvPools) is one
  // layer, of kind "conv+max_pool"; a linear on the small-batch pass is of
  // kind "linear (small batch)".
  std::vector<models::LayerTime> PredictTimingLayers(const torch::Tensor& images) override;
  // Every node's value after a forward pass (quantized where INT8 produced it),
  // for layer-wise comparisons and tests. Keeps everything alive: not for speed.
  std::vector<torch::Tensor> RunKeepingValues(const torch::Tensor& images);
  // Every step run on the values in `given` (one per slot, as
  // RunKeepingValues returns them; the quantize step reads `images`) instead
  // of what earlier steps computed: each step's own output for another
  // runtime's inputs, so that a comparison with that runtime isolates the
  // step (core/export/export_check.h). Where a slot of `given` is undefined,
  // later steps read what its step computed here. Returns each step's output
  // at its slot.
  std::vector<torch::Tensor> RunEachStepOn(const torch::Tensor& images, const std::vector<torch::Tensor>& given);

  const std::string& engine() const { return engine_; }
  std::vector<std::string> Int8Layers() const;  // conv/linear layers running in INT8
  std::vector<std::string> Fp32Layers() const;  // conv/linear layers kept in FP32
  int64_t Int8WeightCount() const;              // weights stored as int8, over all INT8 layers
  // The INT8 layers whose weights reach beyond +-64, which this CPU's
  // u8 x s8 kernels may saturate on (U8S8PairsSaturate, engine.h): a file
  // quantized with 8-bit weights on a CPU with VNNI, run on one without.
  // Empty where the engine does not saturate. Load warns when it is not.
  std::vector<std::string> LayersSaturatingOnThisCpu() const;
  // Per conv/linear layer, in execution order: the bytes of its weight and
  // bias as stored here (int8 weights with their scales and zero points, or
  // FP32), and the same tensors' bytes in FP32.
  struct LayerBytes {
    std::string layer;
    int64_t fp32_bytes = 0;
    int64_t stored_bytes = 0;
    bool int8 = false;
  };
  std::vector<LayerBytes> LayerSizes() const;
  // (step name, value slot) of every INT8 step that writes a new tensor.
  std::vector<std::pair<std::string, int>> Int8Outputs() const;
  // (step name, kind, INT8?) in execution order.
  std::vector<std::tuple<std::string, std::string, bool>> DescribeSteps() const;
  // The conv steps Predict runs in one pass with the 2x2 max pool that alone
  // reads them (internal/conv_pool.h: onednn, AVX-512 VNNI or AVX2 with
  // weights within +-64, a 3x3 conv over one input channel). RunKeepingValues
  // runs every step on its own.
  std::vector<std::string> FusedConvPools() const;
  // The steps Predict runs as one table lookup per byte, by the name of the
  // last step of each (internal/byte_table.h: sigmoid, hard sigmoid, hard
  // swish, leaky ReLU, and one of them followed by the multiply by its own
  // input: SiLU, hard swish as x * hard sigmoid). RunKeepingValues runs them
  // as LibTorch's kernels.
  std::vector<std::string> ByteTableSteps() const;
  // The concats Predict runs with the channel shuffle that alone reads them,
  // in one pass (internal/concat_shuffle.h: ShuffleNet's units), by the
  // concat's name. RunKeepingValues runs both as LibTorch's kernels.
  std::vector<std::string> ConcatShuffles() const;
  // The linear steps Predict runs on its own pass at batches small enough for
  // it (internal/small_linear.h: onednn, AVX-512 VNNI or AVX2 with weights
  // within +-64, symmetric int8 weights, kSmallLinearMaxRows rows and
  // kSmallLinearMultiplyAdds at most); larger batches, and RunKeepingValues,
  // run oneDNN's.
  std::vector<std::string> SmallBatchLinears() const;
  const nlohmann::json& meta() const { return meta_; }
  // The step list, for exporters (core/export) that translate it.
  const std::vector<internal::Step>& steps() const { return steps_; }
  int num_values() const { return num_values_; }
  int prediction() const { return prediction_; }

  // One LibTorch archive: INT8 weights as int8 bytes plus per-channel scales,
  // float biases, activation qparams and the step list as JSON.
  Status Save(const std::string& path) const;
  // Repacks the weights for `engine` (default: the one recorded in the file).
  static Result<std::unique_ptr<QuantizedModel>> Load(const std::string& path, const std::string& engine = "");

 private:
  std::vector<internal::Step> steps_;
  std::vector<int> last_use_;
  int num_values_;
  int prediction_;
  std::string engine_;
  nlohmann::json meta_;
  std::vector<torch::Tensor> values_;
  // Per step, where Predict runs it on a pass of our own instead of
  // LibTorch's kernel: a conv run with the pool step that alone reads it
  // (`pool` >= 0, and its weights laid out for that pass), a pool so taken
  // (skipped), or a linear that small batches run on the small-batch pass,
  // its weights laid out on the first such batch (a model that never sees
  // one keeps no second copy of them).
  struct OwnPass {
    int pool = -1;
    std::shared_ptr<const internal::ConvPoolWeights> conv_pool;
    bool skipped = false;
    bool small_linear = false;
    std::shared_ptr<const internal::SmallLinearWeights> small_linear_weights;
    // A bytewise step (internal/byte_table.h) run as a table lookup: the steps
    // the table replaces, in order, ending with this one (SiLU: the sigmoid,
    // then this multiply, the sigmoid skipped), and the table, written on the
    // first call for its input's quantization.
    std::vector<int> lookup_chain;
    std::shared_ptr<const internal::ByteTable> table;
    // A concat run with the channel shuffle that alone reads it
    // (internal/concat_shuffle.h): the shuffle's step (skipped), and the
    // tables, written on the first call for the inputs' quantization.
    int shuffle = -1;
    std::shared_ptr<const internal::ConcatShuffleTables> concat_tables;
  };
  std::vector<OwnPass> own_passes_;

  // Who writes and who reads each value of a step list.
  struct ValueUses {
    std::vector<int> producer;     // the step that writes it; -1: the image
    std::vector<int> readers;      // how many step inputs read it
    std::vector<int> last_reader;  // the last step that reads it (the only one when readers is 1); -1: none
  };
  static ValueUses UsesOf(const std::vector<internal::Step>& steps, int num_values);
  void PlanOwnPasses(const ValueUses& uses);
  void PlanByteTables(const ValueUses& uses);
  void PlanConcatShuffles(const ValueUses& uses);
  // The names of the steps whose own pass `pick` takes.
  std::vector<std::string> StepNamesWhere(const std::function<bool(const OwnPass&)>& pick) const;
  // Runs step i of a Predict, on its own pass or LibTorch's, and frees the
  // values no later step reads. The kind of what ran, or nullptr when nothing
  // did (a pool run with its conv).
  const char* RunStepAt(size_t i);
};

}  // namespace qg::quant
