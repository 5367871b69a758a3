#include "core/base/temp_dir.h"

#include <stdlib.h>

namespace qg {

TempDir::TempDir(const std::string& prefix) {
  std::error_code ec;
  const auto root = std::filesystem::temp_directory_path(ec);
  if (ec) return;
  std::string pattern = (root / (prefix + "XXXXXX")).string();
  if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!path_.empty()) std::filesystem::remove_all(path_, ec);
}

}  // namespace qg
