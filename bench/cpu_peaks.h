// This CPU's multiply-add peaks, measured rather than looked up: INT8 (AVX-512
// VNNI vpdpbusd, 64 u8 x s8 products per instruction, what oneDNN's and ONNX
// Runtime's INT8 convolutions run on; AVX2's 32 per 3 instructions on CPUs
// without VNNI) and FP32 FMA at both widths, 256-bit (8
// products per instruction) and 512-bit (16). The FP32 peak is the higher of
// the two: some cores split 512-bit FMAs in halves, this one (AMD family 26)
// does not, and a 256-bit-only peak would be half the truth here. Each runs on `threads` threads at once with 12
// independent accumulators, so only the execution ports limit the rate. The
// ratio of the two bounds any INT8-over-FP32 speedup of compute-bound layers.
#pragma once

namespace qg::bench {

struct CpuPeaks {
  // Billions of multiply-adds per second over all threads: VNNI where the CPU
  // has it, else AVX2's vpmaddubsw + vpmaddwd + vpaddd (32 u8 x s8 products per
  // 3 instructions: what oneDNN and MLAS run there); 0 with neither.
  double int8_gmacs = 0;
  const char* int8_kind = "none";  // which of the two, for the table
  double fp32_gmacs = 0;  // the higher of the two FMA widths
  double fp32_256_gmacs = 0;  // 0 without AVX2 + FMA
  double fp32_512_gmacs = 0;  // 0 without AVX-512
};

// Best of 7 rounds. Measure one thread, and `threads` threads only to see
// whether the machine delivers that many cores in parallel: a VM whose host
// shares cores can give two threads one core's worth for a while.
CpuPeaks MeasureCpuPeaks(int threads);

}  // namespace qg::bench
