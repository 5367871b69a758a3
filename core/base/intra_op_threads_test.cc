#include "core/base/intra_op_threads.h"

#include <gtest/gtest.h>
#include <omp.h>

namespace qg {
namespace {

TEST(OneIntraOpThread, HoldsOneThreadWhileItLivesThenRestoresTheCount) {
  const int before = omp_get_max_threads();
  omp_set_num_threads(3);
  {
    const OneIntraOpThread one(true);
    EXPECT_EQ(omp_get_max_threads(), 1);
    {
      const OneIntraOpThread nested(true);  // already one: nothing to restore
      EXPECT_EQ(omp_get_max_threads(), 1);
    }
    EXPECT_EQ(omp_get_max_threads(), 1);
  }
  EXPECT_EQ(omp_get_max_threads(), 3);
  {
    const OneIntraOpThread off(false);
    EXPECT_EQ(omp_get_max_threads(), 3);
  }
  EXPECT_EQ(omp_get_max_threads(), 3);
  omp_set_num_threads(before);
}

}  // namespace
}  // namespace qg
