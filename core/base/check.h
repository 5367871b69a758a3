// QG_CHECK: for broken invariants only (ray RAY_CHECK). Logs the condition and
// where, then aborts. Never use it on user input: that gets an Error.
#pragma once

#include <cstdio>
#include <cstdlib>

#define QG_CHECK(cond)                                                              \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "quantgrid: internal check failed at %s:%d: %s\n", __FILE__, \
                   __LINE__, #cond);                                                \
      std::abort();                                                                 \
    }                                                                               \
  } while (0)
