// Whole-file reads and crash-safe writes. Errors name the file.
#pragma once

#include <string>
#include <string_view>

#include "core/base/result.h"

namespace qg {

// NotFound when the file does not exist, IOError when it cannot be read.
Result<std::string> ReadFile(const std::string& path);
// Writes a temporary file of its own (UniqueTempPath), fsyncs it, renames it
// over `path` and fsyncs the directory: readers never see half a file, two
// writers never share a temporary, and a crash after it returns keeps the
// file. Creates missing parent directories.
Status WriteFileAtomic(const std::string& path, std::string_view bytes);
// Where to write `path`'s next version: a file of the same name in a folder
// of its own, "<dir>/.<name>.tmp.<pid>.<counter>.<random>/<name>" (created
// here), unique per call in this process and across processes (attempts of
// one job on two hosts of a shared filesystem). The name stays the file's own
// because some writers record it (a LibTorch archive names its root after
// it), and the same content must give the same bytes.
std::string UniqueTempPath(const std::string& path);
// Makes a finished temporary file (written by another library, e.g. a LibTorch
// archive) the file at `path`: fsync, rename, fsync of the directory. The
// temporary is removed when that fails.
Status CommitTempFile(const std::string& tmp, const std::string& path);
// fsync of a directory, so a rename inside it survives a crash.
Status SyncDirectory(const std::string& dir);
// Size in bytes of an existing file; NotFound otherwise.
Result<int64_t> FileSize(const std::string& path);

}  // namespace qg
