// `mpirun -np 2 quantgrid train ...`: two ranks found through Open MPI's
// environment train one epoch together and write one checkpoint.
#include <gtest/gtest.h>

#include <boost/process.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/testing/cli_runner.h"
#include "tests/testing/temp_dir.h"

namespace qg {
namespace {

namespace bp = boost::process;
namespace fs = std::filesystem;

TEST(Mpirun, TwoRanksTrainOneEpochAndWriteOneCheckpoint) {
  const auto mpirun = bp::search_path("mpirun");
  ASSERT_FALSE(mpirun.empty()) << "mpirun is not installed (deploy/install-deps.sh installs openmpi-bin)";
  qg::testing::TempDir dir;
  const std::string log = dir.File("mpirun.log");
  bp::child child(mpirun,
                  bp::args({"--allow-run-as-root", "--oversubscribe", "-np", "2", qg::testing::QuantgridPath(), "train",
                            "--model", "compact_cnn", "--dataset", "synthetic", "--epochs", "1", "--batch-size", "64",
                            "--threads", "1", "--out", dir.File("out")}),
                  bp::start_dir(dir.path().string()), (bp::std_out & bp::std_err) > log);
  child.wait();
  std::stringstream text;
  text << std::ifstream(log).rdbuf();
  ASSERT_EQ(child.exit_code(), 0) << text.str();
  EXPECT_NE(text.str().find("rank 0/2 (mpirun)"), std::string::npos) << text.str();
  EXPECT_NE(text.str().find("rank 1/2 (mpirun)"), std::string::npos) << text.str();
  int models = 0;
  for (const auto& entry : fs::directory_iterator(dir.File("out"))) models += entry.path().filename() == "model.pt";
  EXPECT_EQ(models, 1);
  EXPECT_TRUE(fs::exists(dir.File("out/train_state.pt")));
  // Rank 0 alone prints the row.
  size_t rows = 0;
  for (size_t at = 0; (at = text.str().find("| compact_cnn ", at)) != std::string::npos; ++at) ++rows;
  EXPECT_EQ(rows, 1u);
}

}  // namespace
}  // namespace qg
