// The INT8 benchmarks: INT8 vs FP32 per engine and quantgrid vs PyTorch FX,
// where an INT8 forward pass spends its time, the two choices the converter
// makes for speed (per-shape onednn packs, the first conv as im2col), and the
// roofline that says how fast INT8 can get on this CPU.
#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <thread>

#include "bench/bench_timing.h"
#include "bench/cpu_peaks.h"
#include "bench/four_paths.h"
#include "bench/verbs.h"
#include "core/base/small_batch_threads.h"
#include "core/base/text_table.h"
#include "core/models/fp32_inference.h"
#include "core/pipeline/torch_runtime.h"
#include "core/quant/convert.h"
#include "core/quant/engine.h"
#include "core/quant/internal/concat_shuffle.h"
#include "core/quant/internal/conv_pool.h"
#include "core/quant/internal/qstep.h"
#include "core/quant/internal/quantize_input.h"
#include "core/quant/internal/small_linear.h"

namespace qg::bench {
namespace {

using quant::internal::Step;

// One forward pass over a step list (a variant of a model's steps).
void Forward(const std::vector<Step>& steps, int num_values, const torch::Tensor& in) {
  torch::InferenceMode guard;
  std::vector<torch::Tensor> values(num_values);
  values[0] = in;
  for (const auto& s : steps) quant::internal::RunStep(s, values);
}

// Microseconds each step takes on `in`, each step timed on its own: median and
// fastest of 300 runs.
std::vector<Timing> StepTimesUs(const std::vector<Step>& steps, int num_values, const torch::Tensor& in) {
  torch::InferenceMode guard;
  std::vector<std::vector<double>> times(steps.size());
  const int warmup = 20, runs = 300;
  for (int r = 0; r < warmup + runs; ++r) {
    std::vector<torch::Tensor> values(num_values);
    values[0] = in;
    for (size_t i = 0; i < steps.size(); ++i) {
      const auto t0 = Clock::now();
      quant::internal::RunStep(steps[i], values);
      const auto t1 = Clock::now();
      if (r >= warmup) times[i].push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    }
  }
  std::vector<Timing> out;
  for (auto& t : times) out.push_back({Median(t), *std::min_element(t.begin(), t.end())});
  return out;
}

// The step of a name the model itself listed (FusedConvPools, SmallBatchLinears).
const Step& StepNamed(const quant::QuantizedModel& int8, const std::string& name) {
  const auto& steps = int8.steps();
  return *std::find_if(steps.begin(), steps.end(), [&](const Step& s) { return s.name == name; });
}

// Microseconds of each pass Predict runs in place of a conv and the max pool
// that alone reads it (internal/conv_pool.h), on random 1x28x28 images.
std::vector<std::pair<std::string, Timing>> FusedPassTimesUs(const quant::QuantizedModel& int8, int64_t batch) {
  std::vector<std::pair<std::string, Timing>> out;
  const auto& steps = int8.steps();
  for (const auto& name : int8.FusedConvPools()) {
    const Step& conv = StepNamed(int8, name);
    const auto weights = quant::internal::PrepareConvPool(conv.qweight, conv.bias);
    const auto image = at::quantize_per_tensor(torch::randn({batch, 1, 28, 28}), steps[0].out.scale,
                                               steps[0].out.zero_point, torch::kQUInt8);
    const Timing t = TimeMs([&] {
      quant::internal::ConvPool(image, weights, conv.padding[0], conv.relu, conv.out.scale, conv.out.zero_point);
    }, 20, 300);
    out.push_back({name, {1000 * t.median, 1000 * t.min}});
  }
  return out;
}

// Microseconds of each pass Predict runs in place of oneDNN's linear at small
// batches (internal/small_linear.h), on the inputs a forward pass of random
// 1x28x28 images gives each linear.
std::vector<std::pair<std::string, Timing>> SmallLinearTimesUs(quant::QuantizedModel& int8, int64_t batch) {
  std::vector<std::pair<std::string, Timing>> out;
  const auto values = int8.RunKeepingValues(torch::randn({batch, 1, 28, 28}));
  for (const auto& name : int8.SmallBatchLinears()) {
    const Step& linear = StepNamed(int8, name);
    const auto& x = values[linear.inputs[0]];
    if (!quant::internal::SmallLinearTakes(x, linear.qweight.size(1), linear.qweight.size(0))) continue;
    const auto weights = quant::internal::PrepareSmallLinear(linear.qweight, linear.bias);
    const Timing t = TimeMs([&] {
      quant::internal::SmallLinear(x, weights, linear.relu, linear.out.scale, linear.out.zero_point);
    }, 20, 300);
    out.push_back({name, {1000 * t.median, 1000 * t.min}});
  }
  return out;
}

// Multiply-adds of a conv or linear step, from its weight and its output.
double StepMacs(const Step& s, const torch::Tensor& out) {
  using quant::internal::StepKind;
  if (s.kind == StepKind::kConv) {
    return static_cast<double>(out.numel()) * s.qweight.size(1) * s.qweight.size(2) * s.qweight.size(3);
  }
  if (s.kind == StepKind::kLinear) return static_cast<double>(out.numel()) * s.qweight.size(1);
  return 0;
}

// A table row of two alternating measurements: medians, best calls, and the
// ratio b / a of each (a / b when `a_over_b`).
std::vector<std::string> RatioRow(const std::string& label, int64_t batch, const AlternatingRounds& t, bool a_over_b,
                                  int digits) {
  const double a = AlternatingRounds::MedianOf(t.a), b = AlternatingRounds::MedianOf(t.b);
  const double ab = AlternatingRounds::BestOf(t.a), bb = AlternatingRounds::BestOf(t.b);
  const auto ms = [&](double v) { return fmt::format("{:.{}f}", v, digits); };
  return {label, fmt::format("{}", batch), ms(a), ms(b), fmt::format("{:.2f}x", a_over_b ? a / b : b / a),
          ms(ab), ms(bb), fmt::format("{:.2f}x", a_over_b ? ab / bb : bb / ab)};
}

}  // namespace

void Int8(const Options& o) {
  pipeline::ConfigureThreads(o.threads);
  const ScopedBlasThreads one_pool(1);
  fmt::print("INT8 benchmark: compact_cnn (BN folded), 1x28x28, {} threads, {} rounds; {}\n\n", o.threads, o.rounds,
             pipeline::DescribeRuntime());
  auto [model, folded, plan, qparams] = PrepareInt8();
  auto fp32 = *models::CompiledFp32Model::Compile(model);

  TextTable speed({"engine", "batch", "fp32 fastest (ms)", "int8 (ms)", "int8 speedup", "fp32 best call (ms)",
                   "int8 best call (ms)", "best-call speedup"},
                  {true, true});
  for (const auto& engine : quant::SupportedEngines()) {
    (void)quant::UseEngine(engine);
    auto int8 = *quant::Convert(folded, plan, qparams, {});
    for (int64_t batch : {1, 64}) {
      const auto in = torch::randn({batch, 1, 28, 28});
      AlternatingRounds t;
      for (int r = 0; r < o.rounds; ++r) {
        t.Add(TimeMs([&] { fp32->Predict(in); }, 20, o.runs), TimeMs([&] { int8->Predict(in); }, 20, o.runs));
        if (o.verbose) {
          fmt::print("  {} batch {} round {}: fp32 {:.3f} ms (best {:.3f}), int8 {:.3f} ms (best {:.3f})\n", engine,
                     batch, r, t.a.back().median, t.a.back().min, t.b.back().median, t.b.back().min);
        }
      }
      speed.AddRow(RatioRow(engine, batch, t, /*a_over_b=*/true, 3));
    }
  }
  fmt::print("{}\ngoal: int8 >= 3.4x faster than the fastest FP32 path at batch 64 (`qg_bench roofline`: this CPU's "
             "ceiling)\n\n",
             speed.Render(TableFormat::kMarkdown));

  (void)quant::UseEngine("onednn");
  auto int8 = *quant::Convert(folded, plan, qparams, {});
  TextTable fx({"onednn", "batch", "quantgrid int8 (ms)", "PyTorch FX int8 (ms)", "quantgrid speedup",
                "quantgrid best call (ms)", "FX best call (ms)", "best-call speedup"},
               {true, true});
  for (int64_t batch : {1, 64}) {
    const auto in = torch::randn({batch, 1, 28, 28});
    AlternatingRounds t;
    for (int r = 0; r < o.rounds; ++r) {
      const auto ref = RunReference(o, fmt::format("int8 --batch {} --runs {}", batch, o.runs));
      t.Add(TimeMs([&] { int8->Predict(in); }, 20, o.runs), {ref["median_ms"], ref["min_ms"]});
    }
    fx.AddRow(RatioRow("median of rounds", batch, t, /*a_over_b=*/false, 4));
  }
  fmt::print("{}\ngoals: not slower at batch 64, >= 1.3x faster at batch 1\n", fx.Render(TableFormat::kMarkdown));
}

void Int8Steps(const Options& o) {
  OnednnCompactCnn bench(o);
  const auto& steps = bench.int8->steps();
  for (int64_t batch : {1, 2, 64}) {
    const auto times = StepTimesUs(steps, bench.int8->num_values(), torch::randn({batch, 1, 28, 28}));
    double sum = 0;
    for (size_t i = 0; i < times.size(); ++i) {
      sum += times[i].median;
      fmt::print("b{:<3} {:>2} {:<14} {:<15} {:8.2f} us (fastest {:.2f}){}\n", batch, i, steps[i].name,
                 quant::internal::StepKindName(steps[i].kind), times[i].median, times[i].min,
                 steps[i].im2col ? ", as im2col + 1x1 conv" : "");
    }
    fmt::print("b{:<3} sum of medians {:.2f} us\n", batch, sum);
    for (const auto& [name, t] : FusedPassTimesUs(*bench.int8, batch)) {
      fmt::print("b{:<3} {} and the pool after it, fused (as Predict runs them): {:.2f} us (fastest {:.2f})\n", batch,
                 name, t.median, t.min);
    }
    for (const auto& [name, t] : SmallLinearTimesUs(*bench.int8, batch)) {
      fmt::print("b{:<3} {} on the small-batch pass (as Predict runs it): {:.2f} us (fastest {:.2f})\n", batch, name,
                 t.median, t.min);
    }
  }
}

// The same model at batch 64 after batch 1 has run, with per-shape packs
// (internal::PacksByShape) and with one shared pack per layer (LibTorch's own
// behaviour), rounds alternating.
void Int8Shapes(const Options& o) {
  OnednnCompactCnn bench(o);
  auto variant = [&](bool per_shape) {
    std::vector<Step> steps = bench.int8->steps();
    for (auto& s : steps) {
      quant::internal::PackWeights(s);  // fresh packs that have seen no shape yet
      if (!per_shape) s.packs_by_shape.reset();
    }
    return steps;
  };
  const std::vector<Step> per_shape = variant(true), shared = variant(false);
  const int n = bench.int8->num_values();
  const auto b1 = torch::randn({1, 1, 28, 28}), b64 = torch::randn({64, 1, 28, 28});
  for (const auto* steps : {&per_shape, &shared}) MedianMs([&] { Forward(*steps, n, b1); }, 0, 20);
  std::vector<double> a, b;
  for (int r = 0; r < o.rounds; ++r) {
    a.push_back(MedianMs([&] { Forward(per_shape, n, b64); }, 20, o.runs));
    b.push_back(MedianMs([&] { Forward(shared, n, b64); }, 20, o.runs));
  }
  TextTable t({"onednn, batch 64 after batch 1", "per-shape packs (ms)", "shared packs (ms)", "speedup"}, {true});
  t.AddRow({"median of rounds", fmt::format("{:.3f}", Median(a)), fmt::format("{:.3f}", Median(b)),
            fmt::format("{:.2f}x", Median(b) / Median(a))});
  fmt::print("{}\n", t.Render(TableFormat::kMarkdown));
}

// LibTorch FP32 (compiled) and INT8 on one intra-op thread and on all of
// them, batch by batch, rounds alternating: what a model's own measurement
// (core/base/small_batch_threads.h) decides at small batches. Two copies of each model, each
// kept to its own mode: oneDNN fixes a primitive's thread count when it makes
// the primitive, at a shape's first call.
void Threads(const Options& o) {
  OnednnCompactCnn bench(o);
  auto int8_one = *quant::Convert(bench.setup.folded, bench.setup.plan, bench.setup.qparams, {});
  auto fp32_all = *models::CompiledFp32Model::Compile(bench.setup.model);
  auto fp32_one = *models::CompiledFp32Model::Compile(bench.setup.model);
  bench.int8->set_one_thread_batches(0);
  fp32_all->set_one_thread_batches(0);
  int8_one->set_one_thread_batches(1 << 20);
  fp32_one->set_one_thread_batches(1 << 20);
  const std::pair<const char*, std::pair<models::InferenceModel*, models::InferenceModel*>> paths[] = {
      {"LibTorch FP32 (frozen, oneDNN)", {fp32_all.get(), fp32_one.get()}},
      {"LibTorch INT8 (quantgrid, onednn)", {bench.int8.get(), int8_one.get()}},
  };
  for (const auto& [label, models] : paths) {
    TextTable t({label, "batch", fmt::format("{} threads (ms)", bench.threads), "1 thread (ms)", "1 thread speedup",
                 fmt::format("{} threads best (ms)", bench.threads), "1 thread best (ms)", "best-call speedup"},
                {true, true});
    for (int64_t batch : {1, 2, 3, 4, 8, 16, 64}) {
      const auto in = torch::randn({batch, 1, 28, 28});
      AlternatingRounds r;
      for (int i = 0; i < o.rounds; ++i) {
        // Each mode starts after the other's OpenMP team has stopped spinning.
        std::this_thread::sleep_for(onnx_export::kRuntimeSettle);
        const Timing all = TimeMs([&] { models.first->Predict(in); }, 20, o.runs);
        std::this_thread::sleep_for(onnx_export::kRuntimeSettle);
        r.Add(all, TimeMs([&] { models.second->Predict(in); }, 20, o.runs));
      }
      t.AddRow(RatioRow("median of rounds", batch, r, /*a_over_b=*/true, 4));
    }
    fmt::print("{}\n\n", t.Render(TableFormat::kMarkdown));
  }
  // What models left to measure for themselves pick here.
  auto int8_measured = *quant::Convert(bench.setup.folded, bench.setup.plan, bench.setup.qparams, {});
  auto fp32_measured = *models::CompiledFp32Model::Compile(bench.setup.model);
  for (const auto& [label, model] : {std::pair<const char*, models::InferenceModel*>{"INT8", int8_measured.get()},
                                     {"FP32", fp32_measured.get()}}) {
    for (int64_t batch = 1; batch <= SmallBatchThreads::kLargestBatch; ++batch) {
      const auto in = torch::randn({batch, 1, 28, 28});
      for (int i = 0; i < SmallBatchThreads::kMeasuringCalls; ++i) model->Predict(in);
      fmt::print("{} Predict, measured on its first {} calls: batch {} on {}\n", label,
                 SmallBatchThreads::kMeasuringCalls, batch,
                 model->OnOneThreadAt(batch).value_or(false) ? "one thread" : "all threads");
    }
  }
}

// compact_cnn's first conv (3x3 over one channel) as the im2col + 1x1 conv
// that conversion picks on onednn (internal/im2col.h), and as the plain 3x3
// conv: the whole INT8 model, rounds alternating.
void Int8Im2col(const Options& o) {
  OnednnCompactCnn bench(o);
  std::vector<Step> taps = bench.int8->steps(), direct = bench.int8->steps();
  for (auto& s : direct) quant::internal::PackWeights(s, /*allow_im2col=*/false);
  if (std::none_of(taps.begin(), taps.end(), [](const Step& s) { return s.im2col; })) {
    fmt::print("no step runs as im2col here (it needs onednn and AVX-512 VBMI)\n");
    return;
  }
  const int n = bench.int8->num_values();
  TextTable t({"compact_cnn int8, onednn", "batch", "3x3 conv (ms)", "im2col + 1x1 (ms)", "speedup",
               "3x3 best call (ms)", "im2col best call (ms)", "best-call speedup"},
              {true, true});
  for (int64_t batch : {1, 64}) {
    const auto in = torch::randn({batch, 1, 28, 28});
    const auto p = TimeAlternately(
        o.rounds, o.runs, [&] { Forward(direct, n, in); }, [&] { Forward(taps, n, in); });
    t.AddRow(RatioRow("median of rounds", batch, p, /*a_over_b=*/true, 4));
  }
  fmt::print("{}\n", t.Render(TableFormat::kMarkdown));
}

// A colour image quantized channels-last (internal/quantize_input.h) against
// the same bytes quantized plane by plane (NCHW, as before), each followed by
// a first conv like MobileNetV2's (3 -> 32 channels, 3x3, stride 2, 3x96x96),
// rounds alternating; onednn.
void Int8RgbInput(const Options& o) {
  (void)quant::UseEngine("onednn");
  torch::manual_seed(0);
  const double scale = 2.0 / 255, conv_scale = 0.05;
  const int64_t zp = 128;
  Step conv{
      .kind = quant::internal::StepKind::kConv, .name = "conv1", .inputs = {1}, .output = 2, .out = {conv_scale, 0}};
  const auto w = torch::randn({32, 3, 3, 3});
  conv.qweight = at::quantize_per_channel(w, (w.abs().flatten(1).amax(1) / 63).to(torch::kDouble),
                                          torch::zeros({32}, torch::kLong), 0, torch::kQInt8);
  conv.bias = torch::randn({32});
  conv.kernel = {3, 3};
  conv.stride = {2, 2};
  conv.padding = {1, 1};
  conv.relu = true;
  quant::internal::PackWeights(conv);
  TextTable t({"onednn, 3x96x96, quantize + first conv", "batch", "NCHW (ms)", "channels-last (ms)", "speedup",
               "NCHW best call (ms)", "channels-last best call (ms)", "best-call speedup"},
              {true, true});
  torch::InferenceMode guard;
  for (int64_t batch : {1, 32}) {
    const auto x = torch::rand({batch, 3, 96, 96}) * 2 - 1;
    std::vector<torch::Tensor> planar(3), interleaved(3);
    auto run_planar = [&] {
      // One plane per row: the plane-by-plane quantize, read back as NCHW.
      planar[1] = quant::internal::QuantizeInput(x.view({batch * 3, 1, 96, 96}), scale, zp).view({batch, 3, 96, 96});
      quant::internal::RunStep(conv, planar);
    };
    auto run_interleaved = [&] {
      interleaved[1] = quant::internal::QuantizeInput(x, scale, zp);
      quant::internal::RunStep(conv, interleaved);
    };
    run_planar();
    run_interleaved();
    if (!torch::equal(planar[2].int_repr(), interleaved[2].int_repr())) {
      fmt::print("batch {}: the two layouts' conv outputs differ\n", batch);
      return;
    }
    const auto p = TimeAlternately(o.rounds, o.runs, run_planar, run_interleaved);
    t.AddRow(RatioRow("median of rounds", batch, p, /*a_over_b=*/true, 4));
  }
  fmt::print("{}\n", t.Render(TableFormat::kMarkdown));
}

// ShuffleNet's concat and channel shuffle as LibTorch's two kernels and as
// one pass (internal/concat_shuffle.h), on shufflenet_v2_x0_5's stage shapes
// at 3x96x96 (two halves requantized to the concat's scale, 2 groups), rounds
// alternating; onednn.
void Int8ConcatShuffle(const Options& o) {
  (void)quant::UseEngine("onednn");
  torch::manual_seed(0);
  TextTable t({"onednn, batch 32, concat + shuffle", "channels", "two kernels (ms)", "one pass (ms)", "speedup",
               "two kernels best call (ms)", "one pass best call (ms)", "best-call speedup"},
              {true, true});
  for (const auto& [channels, size] : {std::pair<int64_t, int64_t>{48, 12}, {96, 6}, {192, 3}}) {
    auto half = [&](double scale, int64_t zp) {
      return at::quantize_per_tensor(torch::rand({32, channels / 2, size, size}) * 4, scale, zp, torch::kQUInt8)
          .contiguous(torch::MemoryFormat::ChannelsLast);
    };
    const std::vector<torch::Tensor> inputs{half(0.05, 0), half(0.031, 3)};
    Step concat{
        .kind = quant::internal::StepKind::kConcat, .name = "cat", .inputs = {0, 1}, .output = 2, .out = {0.06, 1}};
    Step shuffle{.kind = quant::internal::StepKind::kActivation, .name = "shuffle", .inputs = {2}, .output = 3};
    shuffle.fn.op = models::Op::kChannelShuffle;
    shuffle.fn.groups = 2;
    std::vector<torch::Tensor> values{inputs[0], inputs[1], {}, {}};
    const auto tables = quant::internal::MakeConcatShuffleTables(concat, inputs, shuffle.fn.groups);
    torch::Tensor fused;
    auto two_kernels = [&] {
      quant::internal::RunStep(concat, values);
      quant::internal::RunStep(shuffle, values);
    };
    auto one_pass = [&] { fused = quant::internal::ConcatShuffle(inputs, tables, concat); };
    two_kernels();
    one_pass();
    if (!torch::equal(values[3].int_repr(), fused.int_repr())) {
      fmt::print("{} channels: the two forms' bytes differ\n", channels);
      return;
    }
    const auto p = TimeAlternately(o.rounds, o.runs, two_kernels, one_pass);
    t.AddRow(RatioRow("median of rounds", channels, p, /*a_over_b=*/true, 4));
  }
  fmt::print("{}\n", t.Render(TableFormat::kMarkdown));
}

// The INT8 speedup this CPU allows: its measured VNNI and FMA peaks (both FMA
// widths), each INT8 step against the time its multiply-adds need at the VNNI
// peak, and the four paths (FP32 and INT8, LibTorch and ONNX Runtime) against
// their peaks (batch 64, onednn).
void Roofline(const Options& o) {
  FourPaths paths(o);
  OnednnCompactCnn& bench = paths.bench();
  const auto one = MeasureCpuPeaks(1), all = MeasureCpuPeaks(o.threads);
  fmt::print("roofline: compact_cnn (BN folded), batch 64, {} threads; {}\n\n", o.threads, pipeline::DescribeRuntime());
  if (one.int8_gmacs <= 0) {
    fmt::print("this CPU has neither AVX-512 VNNI nor AVX2\n");
    return;
  }
  // The hardware's peak: one thread's, times the threads.
  const CpuPeaks peaks{.int8_gmacs = one.int8_gmacs * o.threads, .fp32_gmacs = one.fp32_gmacs * o.threads};
  TextTable p({"peak (G multiply-adds/s)", "1 thread", fmt::format("{} threads measured", o.threads)}, {true});
  auto peak_row = [&](const char* name, double a, double b) {
    p.AddRow({name, a > 0 ? fmt::format("{:.0f}", a) : "n/a", b > 0 ? fmt::format("{:.0f}", b) : "n/a"});
  };
  peak_row(fmt::format("INT8 ({})", one.int8_kind).c_str(), one.int8_gmacs, all.int8_gmacs);
  peak_row("FP32 (FMA, 512-bit zmm)", one.fp32_512_gmacs, all.fp32_512_gmacs);
  peak_row("FP32 (FMA, 256-bit ymm)", one.fp32_256_gmacs, all.fp32_256_gmacs);
  fmt::print("{}\nFP32 peak: the higher width ({}-bit). INT8 / FP32 peak: {:.2f}x. Below, peaks are {} x one thread's\n\n",
             p.Render(TableFormat::kMarkdown), one.fp32_512_gmacs >= one.fp32_256_gmacs ? 512 : 256,
             one.int8_gmacs / one.fp32_gmacs, o.threads);

  auto& int8 = *bench.int8;
  const auto in = torch::randn({64, 1, 28, 28});
  const auto values = int8.RunKeepingValues(in);
  const auto times = StepTimesUs(int8.steps(), int8.num_values(), in);
  TextTable steps({"INT8 step", "M multiply-adds", "time (us)", "at INT8 peak (us)", "of peak"}, {true});
  double macs = 0, compute_us = 0, other_us = 0;
  for (size_t i = 0; i < times.size(); ++i) {
    const auto& s = int8.steps()[i];
    const double m = StepMacs(s, values[s.output]);
    const double at_peak = m / peaks.int8_gmacs / 1e3;
    macs += m;
    (m > 0 ? compute_us : other_us) += times[i].median;
    steps.AddRow({s.name + (s.im2col ? " (im2col)" : ""), m > 0 ? fmt::format("{:.1f}", m / 1e6) : "",
                  fmt::format("{:.1f}", times[i].median), m > 0 ? fmt::format("{:.1f}", at_peak) : "",
                  m > 0 ? fmt::format("{:.0f} %", 100 * at_peak / times[i].median) : ""});
  }
  fmt::print("{}\n", steps.Render(TableFormat::kMarkdown));
  for (const auto& [name, fused] : FusedPassTimesUs(int8, 64)) {
    fmt::print("Predict runs {} and the pool after it as one pass: {:.1f} us (the two steps above, timed alone, are "
               "what RunKeepingValues runs).\n\n",
               name, fused.median);
  }

  const FourPathTimes t = TimeFourPaths(paths, 64, o.rounds, o.verbose);
  const double fp32_peak_ms = macs / peaks.fp32_gmacs / 1e6, int8_peak_ms = macs / peaks.int8_gmacs / 1e6;
  TextTable whole({"whole model, batch 64", "p50 (ms)", "best call (ms)", "all multiply-adds at peak (ms)",
                   "of peak (best call)"},
                  {true});
  for (int path = 0; path < kPaths; ++path) {
    const double at_peak = path == kTorchFp32 || path == kOrtFp32 ? fp32_peak_ms : int8_peak_ms;
    whole.AddRow({kPathNames[path], fmt::format("{:.3f}", t.median[path]), fmt::format("{:.3f}", t.best[path]),
                  fmt::format("{:.3f}", at_peak), fmt::format("{:.0f} %", 100 * at_peak / t.best[path])});
  }
  fmt::print("{}\n", whole.Render(TableFormat::kMarkdown));
  const double f = std::min(t.best[kTorchFp32], t.best[kOrtFp32]);
  const double q = std::min(t.best[kTorchInt8], t.best[kOrtInt8]);
  fmt::print(
      "Fastest INT8 over fastest FP32 (best calls): {:.2f}x. {:.0f} M multiply-adds; LibTorch INT8 steps timed alone: "
      "conv/linear {:.0f} us, the rest (quantize, pools, flatten) {:.0f} us.\n"
      "With every conv/linear at the INT8 peak and the rest free, INT8 would be {:.2f}x the fastest FP32; with the "
      "rest as now {:.2f}x.\n",
      f / q, macs / 1e6, compute_us, other_us, f / int8_peak_ms, f / (int8_peak_ms + other_us / 1e3));
}

}  // namespace qg::bench
