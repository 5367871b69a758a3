// Which CPU this is, in the terms that decide which kernels run. No LibTorch:
// workers name their CPU to the coordinator with it, and run records store it.
#pragma once

#include <string>

namespace qg {

// Whether this CPU has a VNNI dot product (AVX-512 VNNI or AVX-VNNI), which
// multiplies u8 x s8 straight into int32. False off x86.
bool CpuHasVnni();

// The CPU model from /proc/cpuinfo ("unknown" elsewhere) with the family and
// vector units that decide which kernels run: "AMD EPYC (family 25, AVX2, no
// VNNI)". Two CPUs of one model name can differ there (a VM's host can
// change), so every run record stores this form, and two machines that give
// the same one run the same kernels.
std::string CpuDescription();

}  // namespace qg
