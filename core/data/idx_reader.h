// Reader for the IDX format of MNIST and Fashion-MNIST, raw or gzip-compressed
// (zlib reads both transparently). Layout: big-endian magic 0x000008NN where NN
// is the number of dimensions, then one big-endian uint32 per dimension, then
// unsigned bytes.
//
// Errors name the file: NotFound when it is missing, Corruption for a wrong
// magic, a short file, or a damaged gzip stream.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/base/result.h"
#include "core/data/labeled_images.h"

namespace qg::data {

struct IdxArray {
  std::vector<int64_t> dims;
  std::vector<uint8_t> data;
};

// Reads an IDX file of unsigned bytes with `expected_rank` dimensions.
Result<IdxArray> ReadIdxFile(const std::string& path, int expected_rank);
// Reads an images file (rank 3) and its labels file (rank 1); counts must agree
// and labels must be below `num_classes`.
Result<LabeledImages> ReadIdxImagesAndLabels(const std::string& images_path,
                                             const std::string& labels_path, int64_t num_classes);

}  // namespace qg::data
