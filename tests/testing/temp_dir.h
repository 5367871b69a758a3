// TempDir for tests: core/base's private temporary folder, named qg_test_*
// so a leftover from a killed test is easy to recognise.
#pragma once

#include "core/base/temp_dir.h"

namespace qg::testing {

class TempDir : public qg::TempDir {
 public:
  TempDir() : qg::TempDir("qg_test_") {}
};

}  // namespace qg::testing
