// Printing an experiment's results table from a store (shared by run, table).
#pragma once

#include <string>

#include "core/base/result.h"
#include "storage/result_store.h"

namespace qg::cli {

Status PrintResults(storage::ResultStore& store, const std::string& experiment, const std::string& format,
                    int64_t latency_batch);

}  // namespace qg::cli
