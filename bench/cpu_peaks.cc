#include "bench/cpu_peaks.h"

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <vector>

namespace qg::bench {
namespace {

constexpr int kAccumulators = 12;  // more than latency x ports, so the loop is throughput-bound
constexpr long kIterations = 5'000'000;
constexpr int kRounds = 7;

// The accumulators are returned so that the compiler keeps the loop.
__attribute__((target("avx512f,avx512vnni"))) int VnniLoop() {
  __m512i acc[kAccumulators];
  for (auto& a : acc) a = _mm512_setzero_si512();
  const __m512i x = _mm512_set1_epi8(1), w = _mm512_set1_epi8(2);
  for (long i = 0; i < kIterations; ++i) {
#pragma GCC unroll 12
    for (auto& a : acc) a = _mm512_dpbusd_epi32(a, x, w);
  }
  __m512i sum = acc[0];
  for (int i = 1; i < kAccumulators; ++i) sum = _mm512_add_epi32(sum, acc[i]);
  alignas(64) int lanes[16];  // not _mm512_reduce_add_*: GCC 12 warns inside it
  _mm512_store_si512(lanes, sum);
  return lanes[0];
}

__attribute__((target("avx512f"))) int Fma512Loop() {
  __m512 acc[kAccumulators];
  for (auto& a : acc) a = _mm512_setzero_ps();
  const __m512 x = _mm512_set1_ps(0.999f), y = _mm512_set1_ps(0.001f);
  for (long i = 0; i < kIterations; ++i) {
#pragma GCC unroll 12
    for (auto& a : acc) a = _mm512_fmadd_ps(a, x, y);
  }
  __m512 sum = acc[0];
  for (int i = 1; i < kAccumulators; ++i) sum = _mm512_add_ps(sum, acc[i]);
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, sum);
  return static_cast<int>(lanes[0]);
}

// The same with 256-bit FMAs (8 products each): what an AVX2 kernel runs. On
// cores with full-width AVX-512 this is half the 512-bit rate; a peak taken
// from it makes an FP32 model look twice as close to its limit as it is.
__attribute__((target("avx2,fma"))) int Fma256Loop() {
  __m256 acc[kAccumulators];
  for (auto& a : acc) a = _mm256_setzero_ps();
  const __m256 x = _mm256_set1_ps(0.999f), y = _mm256_set1_ps(0.001f);
  for (long i = 0; i < kIterations; ++i) {
#pragma GCC unroll 12
    for (auto& a : acc) a = _mm256_fmadd_ps(a, x, y);
  }
  __m256 sum = acc[0];
  for (int i = 1; i < kAccumulators; ++i) sum = _mm256_add_ps(sum, acc[i]);
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, sum);
  return static_cast<int>(lanes[0]);
}

// A CPU without VNNI: each 32-product step is vpmaddubsw (u8 x s8 pairs into
// int16), vpmaddwd by ones (into int32) and vpaddd.
__attribute__((target("avx2"))) int Avx2Int8Loop() {
  __m256i acc[kAccumulators];
  for (auto& a : acc) a = _mm256_setzero_si256();
  const __m256i x = _mm256_set1_epi8(1), w = _mm256_set1_epi8(2), ones = _mm256_set1_epi16(1);
  for (long i = 0; i < kIterations; ++i) {
#pragma GCC unroll 12
    for (auto& a : acc) a = _mm256_add_epi32(a, _mm256_madd_epi16(_mm256_maddubs_epi16(x, w), ones));
  }
  __m256i sum = acc[0];
  for (int i = 1; i < kAccumulators; ++i) sum = _mm256_add_epi32(sum, acc[i]);
  alignas(32) int lanes[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), sum);
  return lanes[0];
}

// Multiply-adds per second of `loop` (macs_per_instruction each) on `threads` threads.
double Rate(int (*loop)(), int macs_per_instruction, int threads) {
  std::vector<std::thread> pool;
  std::vector<int> sink(threads);
  const auto t0 = std::chrono::steady_clock::now();
  for (int t = 0; t < threads; ++t) pool.emplace_back([&, t] { sink[t] = loop(); });
  for (auto& t : pool) t.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return static_cast<double>(threads) * kIterations * kAccumulators * macs_per_instruction / seconds / 1e9;
}

}  // namespace

CpuPeaks MeasureCpuPeaks(int threads) {
  CpuPeaks p;
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const bool avx512 = __builtin_cpu_supports("avx512f");
  const bool vnni = avx512 && __builtin_cpu_supports("avx512vnni");
  for (int r = 0; r < kRounds; ++r) {  // the best round: a VM's neighbours only ever slow a round down
    if (avx2) p.fp32_256_gmacs = std::max(p.fp32_256_gmacs, Rate(Fma256Loop, 8, threads));
    if (avx512) p.fp32_512_gmacs = std::max(p.fp32_512_gmacs, Rate(Fma512Loop, 16, threads));
    if (vnni) p.int8_gmacs = std::max(p.int8_gmacs, Rate(VnniLoop, 64, threads));
    if (!vnni && avx2) p.int8_gmacs = std::max(p.int8_gmacs, Rate(Avx2Int8Loop, 32, threads));
  }
  p.int8_kind = vnni ? "AVX-512 VNNI vpdpbusd, 512-bit" : avx2 ? "AVX2 vpmaddubsw + vpmaddwd, 256-bit" : "none";
  p.fp32_gmacs = std::max(p.fp32_256_gmacs, p.fp32_512_gmacs);
  return p;
}

}  // namespace qg::bench
