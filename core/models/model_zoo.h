// The architectures quantgrid ships, as Graphs. Each is written from explicit
// Conv-BN-ReLU / Linear blocks, residual Adds and Concats so the quantization
// engine can find and replace them. InvalidArgument when the options do not fit
// the architecture (an image too small for inception_v3).
#pragma once

#include "core/base/result.h"
#include "core/models/graph.h"
#include "core/models/model_options.h"

namespace qg::models {

// The compact CNN of the quantization paper quantgrid reproduces: three
// Conv-BN-ReLU-MaxPool blocks (32, 64, 128 channels), Linear(256)-ReLU-Dropout,
// Linear(classes). Input channels and size follow the dataset (~1.6 MB FP32 on
// Fashion-MNIST, ~2.5 MB on CIFAR-10).
Result<Graph> BuildCompactCnn(const ModelOptions& options);
// ResNet-18 for 32x32 inputs: 3x3 stride-1 stem, no max-pool, BasicBlocks
// [2,2,2,2]. 11,173,962 parameters with 3 input channels and 10 classes.
Result<Graph> BuildResNet18Cifar(const ModelOptions& options);
// torchvision's Inception V3 (299x299, BN eps 1e-3): 27,161,264 parameters
// with the auxiliary classifier and 1000 classes, 23,834,568 without.
Result<Graph> BuildInceptionV3(const ModelOptions& options);

}  // namespace qg::models
