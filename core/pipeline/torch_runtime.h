// Process-wide LibTorch settings. LibTorch defaults to one intra-op thread on
// this Debian build, so every entry point sets the count explicitly.
#pragma once

#include <string>

#include "core/base/result.h"

namespace qg::pipeline {

// threads <= 0 means one per hardware thread. Returns the count in effect.
int ConfigureThreads(int threads);
// "torch 1.13.1, 2 threads, OpenMP, oneDNN v2.6.3, CPU AMD EPYC ...": for run records.
std::string DescribeRuntime();
// The CPU model from /proc/cpuinfo ("unknown" elsewhere) with the family and
// vector units that decide which kernels run: "AMD EPYC (family 25, AVX2, no
// VNNI)". Two CPUs of one model name can differ there (a VM's host can
// change), so every run record stores this form.
std::string CpuDescription();

}  // namespace qg::pipeline
