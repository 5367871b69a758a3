#include "core/data/cifar10_binary.h"

#include <filesystem>
#include <fstream>

#include "core/base/files.h"

namespace qg::data {

namespace fs = std::filesystem;

Result<LabeledImages> ReadCifar10Files(const std::vector<std::string>& paths) {
  LabeledImages out;
  out.channels = 3;
  out.height = 32;
  out.width = 32;
  for (const auto& path : paths) {
    QG_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
    if (bytes.empty() || bytes.size() % kCifarRecordBytes != 0) {
      return Error::Corruption("'{}': {} bytes is not a whole number of {}-byte CIFAR-10 records (truncated?)",
                               path, bytes.size(), kCifarRecordBytes);
    }
    const int64_t records = static_cast<int64_t>(bytes.size()) / kCifarRecordBytes;
    out.pixels.reserve(out.pixels.size() + static_cast<size_t>(records * 3072));
    for (int64_t r = 0; r < records; ++r) {
      const auto* rec = reinterpret_cast<const uint8_t*>(bytes.data()) + r * kCifarRecordBytes;
      if (rec[0] > 9) {
        return Error::Corruption("'{}': record {} has label {}, CIFAR-10 labels are 0-9", path, r, int{rec[0]});
      }
      out.labels.push_back(rec[0]);
      out.pixels.insert(out.pixels.end(), rec + 1, rec + kCifarRecordBytes);
    }
    out.count += records;
  }
  return out;
}

Result<std::vector<std::string>> Cifar10SplitFiles(const std::string& dir, const std::string& split) {
  std::vector<std::string> names;
  if (split == "train") {
    for (int i = 1; i <= 5; ++i) names.push_back("data_batch_" + std::to_string(i) + ".bin");
  } else if (split == "test") {
    names.push_back("test_batch.bin");
  } else {
    return Error::InvalidArgument("CIFAR-10 split '{}' is unknown; known: train, test", split);
  }
  fs::path base(dir);
  std::error_code ec;
  if (!fs::exists(base / names[0], ec) && fs::exists(base / "cifar-10-batches-bin" / names[0], ec)) {
    base /= "cifar-10-batches-bin";
  }
  std::vector<std::string> paths;
  for (const auto& name : names) {
    const fs::path p = base / name;
    if (!fs::exists(p, ec)) return Error::NotFound("CIFAR-10 file '{}' does not exist", p.string());
    paths.push_back(p.string());
  }
  return paths;
}

std::vector<std::string> Cifar10ClassNames(const std::string& dir) {
  for (const fs::path& p : {fs::path(dir) / "batches.meta.txt", fs::path(dir) / "cifar-10-batches-bin" / "batches.meta.txt"}) {
    std::ifstream in(p);
    std::vector<std::string> names;
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) names.push_back(line);
    }
    if (names.size() == 10) return names;
  }
  return {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};
}

}  // namespace qg::data
