#include "storage/sqlite_result_store.h"
#include "storage/schema.h"

#include <gtest/gtest.h>

#include <fstream>

#include "tests/testing/result_store_contract.h"
#include "tests/testing/temp_dir.h"

namespace qg::testing {
namespace {

std::unique_ptr<storage::ResultStore> OnFile() {
  // One folder for the test binary, removed when it exits (the stores are closed by then).
  static const TempDir dir;
  static int n = 0;
  return std::move(*storage::SqliteResultStore::Open(dir.File("store" + std::to_string(n++) + ".db")));
}
std::unique_ptr<storage::ResultStore> InMemory() { return std::move(*storage::SqliteResultStore::Open(":memory:")); }

INSTANTIATE_TEST_SUITE_P(SqliteFile, ResultStoreContract, ::testing::Values(StoreFactory(OnFile)));
INSTANTIATE_TEST_SUITE_P(SqliteMemory, ResultStoreContract, ::testing::Values(StoreFactory(InMemory)));

}  // namespace
}  // namespace qg::testing

namespace qg::storage {
namespace {

using qg::testing::MakeJob;
using qg::testing::MakeRun;
using qg::testing::TempDir;

TEST(SqliteResultStore, AFailureHalfwayThroughAResultLeavesNoPartialRows) {
  auto store = *SqliteResultStore::Open(":memory:");
  // The third write of the result (an artifact) fails inside the transaction.
  ASSERT_TRUE(store->db().Exec("CREATE TRIGGER explode BEFORE INSERT ON artifacts WHEN NEW.kind = 'boom' "
                               "BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"));
  const int64_t e = *store->PutExperiment("e", {});
  const auto job = MakeJob("j", "quantize", {{"s", 1}});
  ASSERT_TRUE(store->SyncJobs(e, {job}));
  const int64_t id = store->ListJobs(e)->front().id;
  auto run = MakeRun(job, 90);
  run.artifacts.push_back({"boom", "x", "y", 1});
  const auto r = store->CompleteJob(id, run);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("disk on fire"), std::string::npos);
  for (const char* table : {"runs", "metrics", "artifacts"}) {
    auto count = *store->db().Prepare(std::string("SELECT count(*) FROM ") + table);
    ASSERT_TRUE(*count.Step());
    EXPECT_EQ(count.Int(0), 0) << table;
  }
  EXPECT_EQ(store->GetJob(id)->state, JobState::kPending);
}

TEST(SqliteResultStore, LockedDatabaseIsUnavailableAndNothingIsWritten) {
  TempDir dir;
  const std::string path = dir.File("q.db");
  auto store = *SqliteResultStore::Open(path, SystemClock::Instance(), {.busy_timeout_ms = 100});
  const int64_t e = *store->PutExperiment("e", {});
  const auto job = MakeJob("j", "quantize", {{"s", 1}});
  ASSERT_TRUE(store->SyncJobs(e, {job}));
  const int64_t id = store->ListJobs(e)->front().id;
  auto other = *Database::Open(path);
  ASSERT_TRUE(other->Exec("BEGIN IMMEDIATE"));  // another process holds the write lock
  const auto r = store->CompleteJob(id, MakeRun(job, 90));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(r.error().message.find("database '" + path + "' is locked by another process"), std::string::npos)
      << r.error().message;
  ASSERT_TRUE(other->Exec("ROLLBACK"));
  EXPECT_FALSE(*store->FindRun(job.config_hash));
  EXPECT_TRUE(store->CompleteJob(id, MakeRun(job, 90)));  // and works once the lock is gone
}

TEST(SqliteResultStore, ReadOnlyDatabaseRefusesWritesClearly) {
  TempDir dir;
  const std::string path = dir.File("q.db");
  ASSERT_TRUE(SqliteResultStore::Open(path));
  auto ro = SqliteResultStore::Open(path, SystemClock::Instance(), {.read_only = true});
  ASSERT_TRUE(ro) << ro.error().ToString();
  const auto r = (*ro)->PutExperiment("e", {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kIOError);
  EXPECT_NE(r.error().message.find("is read-only"), std::string::npos) << r.error().message;
  EXPECT_TRUE((*ro)->ListExperiments());
}

TEST(SqliteResultStore, NotADatabaseAndNewerSchemaAreRefused) {
  TempDir dir;
  std::ofstream(dir.File("junk.db")) << std::string(4096, 'x');
  const auto junk = SqliteResultStore::Open(dir.File("junk.db"));
  ASSERT_FALSE(junk);
  EXPECT_EQ(junk.error().code, ErrorCode::kCorruption);
  EXPECT_NE(junk.error().message.find("junk.db"), std::string::npos);
  {
    auto store = *SqliteResultStore::Open(dir.File("new.db"));
    ASSERT_TRUE(store->db().Exec("INSERT INTO schema_version VALUES (99)"));
  }
  const auto newer = SqliteResultStore::Open(dir.File("new.db"));
  ASSERT_FALSE(newer);
  EXPECT_NE(newer.error().message.find("schema version 99"), std::string::npos);
  const auto missing = SqliteResultStore::Open(dir.File("none.db"), SystemClock::Instance(), {.create = false});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST(SqliteResultStore, SchemaSurvivesReopenAndMigratesOnce) {
  TempDir dir;
  {
    auto store = *SqliteResultStore::Open(dir.File("a.db"));
    ASSERT_TRUE(store->PutExperiment("kept", {{"x", 1}}));
  }
  auto store = *SqliteResultStore::Open(dir.File("a.db"));
  EXPECT_EQ((*store->GetExperiment("kept"))->spec["x"], 1);
  auto v = *store->db().Prepare("SELECT count(*), max(version) FROM schema_version");
  ASSERT_TRUE(*v.Step());
  EXPECT_EQ(v.Int(0), 1);
  EXPECT_EQ(v.Int(1), CurrentSchemaVersion());
}

}  // namespace
}  // namespace qg::storage
