// TorchCall: the boundary where LibTorch's exceptions become Errors.
// Header-only and included only by targets that link LibTorch (qg_base itself
// does not). `context` names the culprit ("checkpoint 'runs/a.pt'").
//
//   QG_ASSIGN_OR_RETURN(auto t, TorchCall("loading 'x.pt'", [&] { return Load(x); }));
#pragma once

#include <c10/util/Exception.h>

#include <exception>
#include <string>
#include <string_view>
#include <type_traits>

#include "core/base/result.h"

namespace qg {

namespace internal {
// First non-blank line of a LibTorch message: the rest is a C++ backtrace
// nobody asked for (TorchScript's messages start with a blank line).
inline std::string FirstLine(std::string_view what) {
  while (true) {
    const auto end = what.find('\n');
    const std::string_view line = what.substr(0, end);
    if (line.find_first_not_of(" \t\r") != std::string_view::npos || end == std::string_view::npos) {
      return std::string(line);
    }
    what.remove_prefix(end + 1);
  }
}

// An empty context leaves the message alone: callers that wrap it in their
// own sentence pass none ("... is not a readable archive (<message>)").
inline Error TorchError(std::string_view context, std::string_view what) {
  if (context.empty()) return Error::Internal("{}", FirstLine(what));
  return Error::Internal("{}: {}", context, FirstLine(what));
}
}  // namespace internal

template <typename F>
auto TorchCall(std::string_view context, F&& f) -> Result<std::invoke_result_t<F>> {
  using T = std::invoke_result_t<F>;
  try {
    if constexpr (std::is_void_v<T>) {
      f();
      return OkStatus();
    } else {
      return Result<T>(f());
    }
  } catch (const c10::Error& e) {
    return internal::TorchError(context, e.what_without_backtrace());
  } catch (const std::exception& e) {
    return internal::TorchError(context, e.what());
  }
}

}  // namespace qg
