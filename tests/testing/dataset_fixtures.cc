#include "tests/testing/dataset_fixtures.h"

#include <stb/stb_image_write.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>

namespace qg::testing {

namespace fs = std::filesystem;

void WriteIdx(const std::string& path, const std::vector<int64_t>& dims, const std::vector<uint8_t>& data, bool gzip) {
  std::string bytes;
  auto put32 = [&](uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) bytes.push_back(static_cast<char>((v >> s) & 0xFF));
  };
  put32(0x00000800u | static_cast<uint32_t>(dims.size()));
  for (int64_t d : dims) put32(static_cast<uint32_t>(d));
  bytes.append(reinterpret_cast<const char*>(data.data()), data.size());
  if (gzip) {
    gzFile f = gzopen(path.c_str(), "wb");
    if (!f) throw std::runtime_error("cannot write " + path);
    gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(f);
  } else {
    std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
}

void WriteFashionLikeDir(const std::string& dir, int64_t count_train, int64_t count_test, bool gzip) {
  fs::create_directories(dir);
  const std::string ext = gzip ? ".gz" : "";
  std::mt19937 rng(7);
  for (auto [split, count] : {std::pair<std::string, int64_t>{"train", count_train}, {"t10k", count_test}}) {
    std::vector<uint8_t> pixels(static_cast<size_t>(count * 28 * 28));
    std::vector<uint8_t> labels(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) {
      labels[i] = static_cast<uint8_t>(i % 10);
      for (int p = 0; p < 28 * 28; ++p) pixels[i * 784 + p] = static_cast<uint8_t>((labels[i] * 25 + rng() % 20) & 0xFF);
    }
    WriteIdx(dir + "/" + split + "-images-idx3-ubyte" + ext, {count, 28, 28}, pixels, gzip);
    WriteIdx(dir + "/" + split + "-labels-idx1-ubyte" + ext, {count}, labels, gzip);
  }
}

void WriteCifarBatch(const std::string& path, int64_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string bytes;
  for (int64_t i = 0; i < count; ++i) {
    bytes.push_back(static_cast<char>(i % 10));
    for (int p = 0; p < 3072; ++p) bytes.push_back(static_cast<char>(rng() & 0xFF));
  }
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void WriteCifarDir(const std::string& dir, int64_t per_batch, int64_t test_count) {
  for (int b = 1; b <= 5; ++b) WriteCifarBatch(dir + "/data_batch_" + std::to_string(b) + ".bin", per_batch, b);
  WriteCifarBatch(dir + "/test_batch.bin", test_count, 99);
}

void WriteImageFolder(const std::string& root, const std::vector<std::string>& classes, int per_class, int w, int h,
                      const std::string& format) {
  std::mt19937 rng(3);
  for (size_t c = 0; c < classes.size(); ++c) {
    const fs::path dir = fs::path(root) / classes[c];
    fs::create_directories(dir);
    for (int i = 0; i < per_class; ++i) {
      std::vector<uint8_t> rgb(static_cast<size_t>(w) * h * 3);
      for (auto& v : rgb) v = static_cast<uint8_t>((c * 80 + rng() % 40) & 0xFF);
      const std::string path = (dir / ("img" + std::to_string(i) + "." + format)).string();
      const int ok = format == "png" ? stbi_write_png(path.c_str(), w, h, 3, rgb.data(), w * 3)
                                     : stbi_write_jpg(path.c_str(), w, h, 3, rgb.data(), 90);
      if (!ok) throw std::runtime_error("cannot write " + path);
    }
  }
}

void TruncateFile(const std::string& path, int64_t size) { fs::resize_file(path, static_cast<uintmax_t>(size)); }

}  // namespace qg::testing
