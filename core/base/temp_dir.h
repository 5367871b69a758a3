// TempDir: a fresh private folder under the system temp dir, removed with
// everything in it on destruction.
#pragma once

#include <filesystem>
#include <string>

namespace qg {

class TempDir {
 public:
  // Makes `<system temp>/<prefix>XXXXXX` (mkdtemp: unique, mode 0700).
  // path() is empty when it cannot be made; callers report that.
  explicit TempDir(const std::string& prefix = "quantgrid-");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace qg
