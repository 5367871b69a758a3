// Timing for the benchmarks: each measurement is `runs` calls after `warmup`
// calls, summarized as the median call and the fastest call. The median is
// what a user sees; the fastest call is what the work costs when nothing else
// on this shared VM gets in the way (its neighbours only ever add time).
// Benchmarks alternate the two things they compare, round by round, so that
// a slow stretch of the machine hits both.
#pragma once

#include <algorithm>
#include <chrono>
#include <vector>

namespace qg::bench {

using Clock = std::chrono::steady_clock;

struct Timing {
  double median = 0, min = 0;  // milliseconds (microseconds where a name says so)
};

template <typename F>
Timing TimeMs(F&& f, int warmup, int runs) {
  for (int i = 0; i < warmup; ++i) f();
  std::vector<double> t;
  for (int i = 0; i < runs; ++i) {
    const auto t0 = Clock::now();
    f();
    t.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::nth_element(t.begin(), t.begin() + t.size() / 2, t.end());
  return {t[t.size() / 2], *std::min_element(t.begin(), t.end())};
}

template <typename F>
double MedianMs(F&& f, int warmup, int runs) {
  return TimeMs(std::forward<F>(f), warmup, runs).median;
}

inline double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Rounds of two things timed alternately (a, then b): the median of the round
// medians, and the fastest call of all rounds, for each.
struct AlternatingRounds {
  std::vector<Timing> a, b;

  void Add(Timing x, Timing y) {
    a.push_back(x);
    b.push_back(y);
  }
  static double MedianOf(const std::vector<Timing>& t) {
    std::vector<double> m;
    for (const auto& x : t) m.push_back(x.median);
    return Median(m);
  }
  static double BestOf(const std::vector<Timing>& t) {
    double best = t.front().min;
    for (const auto& x : t) best = std::min(best, x.min);
    return best;
  }
};

// `rounds` rounds of `a`, then `b`, each `runs` calls after 20 warm-up calls.
template <typename A, typename B>
AlternatingRounds TimeAlternately(int rounds, int runs, A&& a, B&& b) {
  AlternatingRounds t;
  for (int r = 0; r < rounds; ++r) t.Add(TimeMs(a, 20, runs), TimeMs(b, 20, runs));
  return t;
}

}  // namespace qg::bench
