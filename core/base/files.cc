#include "core/base/files.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <random>
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

std::string UniqueTempPath(const std::string& path) {
  static std::atomic<uint64_t> counter{0};
  thread_local std::random_device random;
  const fs::path target(path);
  const fs::path dir = target.parent_path() / fmt::format(".{}.tmp.{}.{}.{:08x}", target.filename().string(),
                                                          ::getpid(), ++counter, random());
  std::error_code ec;
  fs::create_directories(dir, ec);  // a failure shows when the file is written
  return (dir / target.filename()).string();
}

namespace {

Status WriteAll(int fd, std::string_view bytes, const std::string& name) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::IOError("write error on '{}': {}", name, std::strerror(errno));
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return OkStatus();
}

}  // namespace

Status SyncDirectory(const std::string& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Error::IOError("cannot open directory '{}': {}", dir, std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  // Some filesystems cannot fsync a directory (EINVAL): the rename is as durable as they make it.
  if (rc != 0 && err != EINVAL) return Error::IOError("cannot sync directory '{}': {}", dir, std::strerror(err));
  return OkStatus();
}

namespace {

// A synced temporary (`written` says whether it is) becomes `path`: rename,
// then fsync of the folder; the temporary and its own folder go either way.
Status Publish(const std::string& tmp, const std::string& path, Status written) {
  std::error_code ec;
  const fs::path target(path);
  if (written) {
    fs::rename(tmp, target, ec);
    if (ec) written = Error::IOError("cannot rename '{}' to '{}': {}", tmp, path, ec.message());
  }
  fs::remove(tmp, ec);
  fs::remove(fs::path(tmp).parent_path(), ec);
  if (!written) return written;
  return SyncDirectory(target.has_parent_path() ? target.parent_path().string() : ".");
}

}  // namespace

Status CommitTempFile(const std::string& tmp, const std::string& path) {
  const int fd = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
  Status synced = OkStatus();
  if (fd < 0 || ::fsync(fd) != 0) synced = Error::IOError("cannot sync '{}': {}", tmp, std::strerror(errno));
  if (fd >= 0) ::close(fd);
  return Publish(tmp, path, std::move(synced));
}

Status WriteFileAtomic(const std::string& path, std::string_view bytes) {
  std::error_code ec;
  const fs::path target(path);
  if (target.has_parent_path()) {
    fs::create_directories(target.parent_path(), ec);
    if (ec) return Error::IOError("cannot create directory '{}': {}", target.parent_path().string(), ec.message());
  }
  const std::string tmp = UniqueTempPath(path);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    const int err = errno;
    fs::remove(fs::path(tmp).parent_path(), ec);
    return Error::IOError("cannot write '{}': {}", tmp, std::strerror(err));
  }
  Status written = WriteAll(fd, bytes, tmp);
  if (written && ::fsync(fd) != 0) written = Error::IOError("cannot sync '{}': {}", tmp, std::strerror(errno));
  ::close(fd);
  return Publish(tmp, path, std::move(written));
}

Result<int64_t> FileSize(const std::string& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) return Error::NotFound("cannot stat '{}': {}", path, ec.message());
  return static_cast<int64_t>(size);
}

}  // namespace qg
