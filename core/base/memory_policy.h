// How the process hands memory back: it doesn't. glibc's malloc serves
// blocks past its mmap threshold with fresh mappings and trims the heap's
// free top, so each forward pass that frees and reallocates its
// multi-megabyte activations faults their pages in again: 2 ms of a 2.3 ms
// INT8 conv at batch 32, and LibTorch FP32 EfficientNet-B0 ran at batch 32 in
// 79 ms that way, 52 ms with freed memory kept. ONNX Runtime keeps its own
// arena for this reason; this is LibTorch's equivalent (PyTorch's CPU tuning
// guide swaps in jemalloc or tcmalloc for the same effect).
#pragma once

namespace qg {

// Every allocation from the heap, and the heap never trimmed: freed blocks
// are reused, with their pages, by the next allocation of their size. The
// process's resident memory stays at its peak. Call once, first thing in main.
void KeepFreedMemoryInProcess();

// The same policy as GLIBC_TUNABLES, for child processes that should run
// under it (benchmark references).
const char* KeepFreedMemoryTunables();

}  // namespace qg
