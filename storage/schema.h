// The SQLite schema and its migrations. Each migration runs once, in a
// transaction, and bumps schema_version; opening a database written by a newer
// quantgrid is refused rather than guessed at.
#pragma once

#include "core/base/result.h"
#include "storage/sqlite_handle.h"

namespace qg::storage {

// The schema version this build writes.
int CurrentSchemaVersion();
// Brings `db` up to CurrentSchemaVersion(). FailedPrecondition for a newer one.
Status Migrate(Database& db);

}  // namespace qg::storage
