// Process-wide LibTorch settings. LibTorch defaults to one intra-op thread on
// this Debian build, so every entry point sets the count explicitly.
#pragma once

#include <string>

#include "core/base/cpu_description.h"
#include "core/base/result.h"

namespace qg::pipeline {

// threads <= 0 means one per hardware thread. Returns the count in effect.
int ConfigureThreads(int threads);
// "torch 1.13.1, 2 threads, OpenMP, oneDNN v2.6.3, CPU AMD EPYC ...": for run records.
std::string DescribeRuntime();
// "AMD EPYC (family 25, AVX2, no VNNI)" (core/base/cpu_description.h).
using ::qg::CpuDescription;

}  // namespace qg::pipeline
