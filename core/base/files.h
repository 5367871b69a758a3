// Whole-file reads and crash-safe writes. Errors name the file.
#pragma once

#include <string>
#include <string_view>

#include "core/base/result.h"

namespace qg {

// NotFound when the file does not exist, IOError when it cannot be read.
Result<std::string> ReadFile(const std::string& path);
// Writes to `path.tmp.<pid>` then renames, so readers never see half a file.
// Creates missing parent directories.
Status WriteFileAtomic(const std::string& path, std::string_view bytes);
// Size in bytes of an existing file; NotFound otherwise.
Result<int64_t> FileSize(const std::string& path);

}  // namespace qg
