// Writers for tiny datasets in the exact on-disk formats quantgrid reads:
// IDX (raw or gzip), CIFAR-10 binary batches, image folders (PNG/JPEG). Tests
// generate them because CIFAR-10 and ImageNet cannot be downloaded here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qg::testing {

// An IDX file of unsigned bytes with the given dims (magic 0x000008<rank>).
void WriteIdx(const std::string& path, const std::vector<int64_t>& dims, const std::vector<uint8_t>& data, bool gzip);
// A Fashion-MNIST-style directory: train/t10k image and label files of
// `count_train` / `count_test` 28x28 images with labels i % 10.
void WriteFashionLikeDir(const std::string& dir, int64_t count_train, int64_t count_test, bool gzip);
// CIFAR-10 batch file of `count` records, label i % 10, pixel bytes from a seed.
void WriteCifarBatch(const std::string& path, int64_t count, uint32_t seed);
// A full CIFAR-10 directory: data_batch_1..5.bin and test_batch.bin.
void WriteCifarDir(const std::string& dir, int64_t per_batch, int64_t test_count);
// root/<class>/img<i>.<png|jpg> with `per_class` images of w x h per class.
void WriteImageFolder(const std::string& root, const std::vector<std::string>& classes, int per_class, int w, int h,
                      const std::string& format);
// Truncates a file to `size` bytes.
void TruncateFile(const std::string& path, int64_t size);

}  // namespace qg::testing
