// ONNX files made by PyTorch, for the import tests: tests/fixtures/
// make_onnx_models.py writes them with Debian's python3-torch(vision) into the
// build tree on first use (a few seconds each), later tests reuse them.
#pragma once

#include <string>
#include <vector>

namespace qg::testing {

// The python3 that has Debian's torch: $QG_PYTHON, else /usr/bin/python3
// (a pyenv or venv python3 first on PATH has no torch).
std::string DebianPython();

// The path of fixture `name` (see make_onnx_models.py), made when missing.
// Empty, with the script's output in `error`, when it cannot be made.
std::string OnnxFixture(const std::string& name, std::string* error = nullptr);

// A compact CNN trained on Fashion-MNIST in PyTorch (train_fashion_cnn.py,
// about a minute on first use): the .onnx path, with PyTorch's figures in the
// .json beside it. Empty, with the reason in `error`, when it cannot be made.
std::string FashionCnnFixture(std::string* error = nullptr);

// Runs a script of tests/fixtures with DebianPython(); its exit code, output in `log`.
int RunFixtureScript(const std::string& script, const std::vector<std::string>& args, std::string* log);

}  // namespace qg::testing
