// Result<T>: a value or an Error, over tl::expected from Debian's
// libexpected-dev. Status is Result<void>. An Error converts implicitly, so a
// failing path reads `return Error::NotFound(...)`. Two macros propagate
// failures (ray RAY_RETURN_NOT_OK, absl ABSL_RETURN_IF_ERROR):
//
//   Result<Table> LoadTable(const std::string& path) {
//     QG_RETURN_IF_ERROR(CheckReadable(path));
//     QG_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
//     if (bytes.empty()) return Error::Corruption("'{}' is empty", path);
//     return ParseTable(bytes);
//   }
//
// QG_ASSIGN_OR_RETURN declares a variable in the enclosing scope, so an `if`
// whose body it is needs braces.
#pragma once

#include <tl/expected.hpp>

#include <utility>

#include "core/base/error.h"

namespace qg {

template <typename T>
class [[nodiscard]] Result : public tl::expected<T, Error> {
 public:
  using Base = tl::expected<T, Error>;
  using Base::Base;
  Result(Error error) : Base(tl::unexpect, std::move(error)) {}  // NOLINT: implicit by design
  Result(const Base& other) : Base(other) {}                     // NOLINT
  Result(Base&& other) : Base(std::move(other)) {}               // NOLINT
};

using Status = Result<void>;

inline Status OkStatus() { return {}; }

}  // namespace qg

#define QG_CONCAT_INNER_(a, b) a##b
#define QG_CONCAT_(a, b) QG_CONCAT_INNER_(a, b)

#define QG_RETURN_IF_ERROR(expr)                       \
  do {                                                 \
    auto&& qg_status_ = (expr);                        \
    if (!qg_status_) return std::move(qg_status_).error(); \
  } while (0)

#define QG_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp) return std::move(tmp).error();        \
  lhs = std::move(*tmp)

#define QG_ASSIGN_OR_RETURN(lhs, expr) \
  QG_ASSIGN_OR_RETURN_IMPL_(QG_CONCAT_(qg_result_, __LINE__), lhs, expr)
