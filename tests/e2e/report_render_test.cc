// The HTML report renders in headless Chromium (Debian's chromium): every SVG
// lays out with a size, and the page's own check marks the body "ok".
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "tests/testing/cli_runner.h"
#include "tests/testing/temp_dir.h"

namespace qg {
namespace {

namespace bp = boost::process;
using qg::testing::RunQuantgrid;
using qg::testing::TempDir;

TEST(ReportRender, RendersInHeadlessChromium) {
  const auto chromium = bp::search_path("chromium");
  if (chromium.empty()) GTEST_SKIP() << "chromium is not installed (deploy/install-deps.sh installs it)";
  TempDir dir;
  std::ofstream(dir.File("spec.json")) << R"({
    "name": "render", "dataset": {"name": "synthetic"}, "model": {"name": "compact_cnn"},
    "train": {"epochs": 1, "batch_size": 64},
    "grid": {"strategies": ["fp32", "bn_fold", {"name": "mpq", "params": {"selection_size": 128, "sensitivity_size": 64}}],
             "calibration_sizes": [128]},
    "measure": {"batch_sizes": [1, 64], "runs": 5, "warmup_runs": 2}})";
  const auto run = RunQuantgrid({"run", dir.File("spec.json"), "--db", dir.File("q.db"), "--root", dir.File("runs")},
                                dir.path().string());
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const auto report = RunQuantgrid({"report", "--db", dir.File("q.db"), "--experiment", "render", "--out",
                                    dir.File("render.html")},
                                   dir.path().string());
  ASSERT_EQ(report.exit_code, 0) << report.err;

  bp::ipstream dom;
  bp::child browser(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--user-data-dir=" + dir.File("chromium-profile"), "--dump-dom", "file://" + dir.File("render.html"),
                    bp::std_out > dom, bp::std_err > bp::null);
  std::string html, line;
  while (std::getline(dom, line)) html += line + "\n";
  browser.wait();
  std::smatch m;
  ASSERT_TRUE(std::regex_search(html, m, std::regex("data-rendered=\"([a-z]+) ([0-9]+)\""))) << html.substr(0, 500);
  EXPECT_EQ(m[1], "ok");
  EXPECT_GE(std::stoi(m[2]), 8);  // scatter, sizes, training, 3 confusion, 2 layer MSE, MPQ sensitivity + front
}

}  // namespace
}  // namespace qg
