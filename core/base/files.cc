#include "core/base/files.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace qg {

namespace fs = std::filesystem;

Result<std::string> ReadFile(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return Error::NotFound("'{}' does not exist", path);
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::IOError("cannot open '{}': {}", path, std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Error::IOError("read error on '{}'", path);
  return ss.str();
}

Status WriteFileAtomic(const std::string& path, std::string_view bytes) {
  std::error_code ec;
  const fs::path target(path);
  if (target.has_parent_path()) {
    fs::create_directories(target.parent_path(), ec);
    if (ec) return Error::IOError("cannot create directory '{}': {}", target.parent_path().string(), ec.message());
  }
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return Error::IOError("cannot write '{}': {}", tmp, std::strerror(errno));
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) return Error::IOError("write error on '{}'", tmp);
  }
  fs::rename(tmp, target, ec);
  if (ec) return Error::IOError("cannot rename '{}' to '{}': {}", tmp, path, ec.message());
  return OkStatus();
}

Result<int64_t> FileSize(const std::string& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) return Error::NotFound("cannot stat '{}': {}", path, ec.message());
  return static_cast<int64_t>(size);
}

}  // namespace qg
