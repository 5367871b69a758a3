// Opening the results database for reading, and printing an experiment's
// table from it (shared by run, table, reproduce).
#pragma once

#include <memory>
#include <string>

#include "core/base/result.h"
#include "storage/sqlite_result_store.h"

namespace qg::cli {

// Read-only: reports never write, and never create an empty database by mistake.
Result<std::unique_ptr<storage::SqliteResultStore>> OpenForReading(const std::string& db);

// `format`: md, csv, latex, or json (a baseline file for `compare`).
Status PrintResults(storage::ResultStore& store, const std::string& experiment, const std::string& format,
                    int64_t latency_batch);

}  // namespace qg::cli
