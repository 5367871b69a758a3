// SHA-256 through OpenSSL's libcrypto: config hashes, artifact digests.
#pragma once

#include <string>
#include <string_view>

#include "core/base/result.h"

namespace qg {

// Lower-case hex digest of `bytes`.
std::string Sha256Hex(std::string_view bytes);
// Lower-case hex digest of a file's contents; NotFound/IOError naming the file.
Result<std::string> Sha256File(const std::string& path);

}  // namespace qg
