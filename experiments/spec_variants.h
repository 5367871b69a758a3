// Variants of a spec, made on its JSON before it is parsed (so the variant is
// validated, hashed and stored like any spec):
//  - WithStandIn: the dataset's stand-in instead of the dataset, for when its
//    files are not on this machine (CIFAR-10, ImageNet on a laptop);
//  - Smoke: the same DAG on a tiny slice (few steps, few images, short
//    latency runs), so every shipped spec can run end to end in seconds.
// Both rename the experiment, so their results never mix with the real run's.
#pragma once

#include <nlohmann/json.hpp>

namespace qg::exp {

// The dataset block replaced by its "stand_in", marked "stands_in_for": the
// original name; the experiment named "<name>-<stand-in name>". Unchanged
// when the spec has no stand-in.
nlohmann::json WithStandIn(const nlohmann::json& raw);

// "<name>-smoke": at most one epoch of 2 steps, 32 calibration and test
// images, synthetic splits of 64/32 with images of at most 96x96, latency of
// 2 runs at batch sizes capped at 8, and each strategy's own sizes (MPQ
// selection, QAT epochs, AdaRound iterations) cut to match. Fields it does
// not know are left as written.
nlohmann::json Smoke(const nlohmann::json& raw);

}  // namespace qg::exp
