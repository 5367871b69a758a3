// Reader for the CIFAR-10 binary format (cifar-10-batches-bin): each file is a
// run of 3073-byte records, one label byte (0-9) then 3072 pixel bytes (1024
// red, 1024 green, 1024 blue, each 32x32 row-major). Training data is
// data_batch_1.bin .. data_batch_5.bin, test data is test_batch.bin.
//
// Errors name the file: NotFound when missing, Corruption when the size is not
// a whole number of records or a label is out of range.
#pragma once

#include <string>
#include <vector>

#include "core/base/result.h"
#include "core/data/labeled_images.h"

namespace qg::data {

inline constexpr int64_t kCifarRecordBytes = 3073;

// Reads and concatenates the given batch files in order.
Result<LabeledImages> ReadCifar10Files(const std::vector<std::string>& paths);
// The batch files of a split ("train" or "test") under `dir`; also looks in
// `dir`/cifar-10-batches-bin. NotFound names the first missing file.
Result<std::vector<std::string>> Cifar10SplitFiles(const std::string& dir, const std::string& split);
// Class names: batches.meta.txt when present, else the standard ten.
std::vector<std::string> Cifar10ClassNames(const std::string& dir);

}  // namespace qg::data
