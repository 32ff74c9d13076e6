// SQLite as an event store: the PostgreSQL table's shape in a WAL-mode database file with
// synchronous=FULL, one connection per client. SQLite runs one writer at a time. The writers
// of this process queue on a mutex rather than in SQLite's busy handler, whose sleeps of up to
// 100 ms would cut SQLite's throughput far below what the disk allows.
#include <sqlite3.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <thread>

#include "tools/bench/stores.h"

namespace rollbook::bench {
namespace {

constexpr auto kCatchUpWait = std::chrono::milliseconds(100);
constexpr auto kPollInterval = std::chrono::milliseconds(1);
constexpr int kBusyTimeoutMs = 60000;

constexpr const char* kCreateTable = R"sql(
CREATE TABLE IF NOT EXISTS bench_events (
  position    INTEGER PRIMARY KEY AUTOINCREMENT,
  stream      TEXT NOT NULL,
  version     INTEGER NOT NULL,
  recorded_at INTEGER NOT NULL,
  payload     BLOB NOT NULL,
  UNIQUE (stream, version)
))sql";

// A write statement takes the write lock before it reads, so MAX(version) cannot go stale.
constexpr const char* kAppendOne = R"sql(
INSERT INTO bench_events (stream, version, recorded_at, payload)
SELECT ?1, COALESCE(MAX(version), 0) + 1, ?3, ?2 FROM bench_events WHERE stream = ?1)sql";
constexpr const char* kStreamVersion =
    "SELECT COALESCE(MAX(version), 0) FROM bench_events WHERE stream = ?1";
constexpr const char* kInsertAt =
    "INSERT INTO bench_events (stream, version, recorded_at, payload) VALUES (?1, ?2, ?3, ?4)";
constexpr const char* kReadNewest =
    "SELECT position, stream, version, payload FROM bench_events ORDER BY position DESC LIMIT ?1";
constexpr const char* kCatchUp =
    "SELECT position, stream, version, payload FROM bench_events WHERE position > ?1 "
    "ORDER BY position LIMIT 512";

using Database = std::unique_ptr<sqlite3, decltype(&sqlite3_close)>;
using Statement = std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)>;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status Failed(sqlite3* db, const std::string& what) {
  return IoError("SQLite " + what + " failed: " + sqlite3_errmsg(db));
}

Result<Database> OpenDatabase(const std::string& path) {
  sqlite3* raw = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  int opened = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  Database db(raw, &sqlite3_close);
  if (opened != SQLITE_OK) return Failed(db.get(), "open " + path);
  sqlite3_busy_timeout(db.get(), kBusyTimeoutMs);
  for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL"}) {
    if (sqlite3_exec(db.get(), pragma, nullptr, nullptr, nullptr) != SQLITE_OK) {
      return Failed(db.get(), pragma);
    }
  }
  return db;
}

class SqliteSession final : public Session {
 public:
  SqliteSession(Database db, std::mutex& write_mutex)
      : db_(std::move(db)), write_mutex_(write_mutex) {}

  Status Prepare() {
    for (auto [sql, slot] :
         {std::pair{kAppendOne, &append_one_}, std::pair{kStreamVersion, &stream_version_},
          std::pair{kInsertAt, &insert_at_}, std::pair{kReadNewest, &read_newest_},
          std::pair{kCatchUp, &catch_up_}}) {
      sqlite3_stmt* raw = nullptr;
      if (sqlite3_prepare_v2(db_.get(), sql, -1, &raw, nullptr) != SQLITE_OK) {
        return Failed(db_.get(), "prepare");
      }
      slot->reset(raw);
    }
    return Status::Ok();
  }

  Status Append(const std::string& stream,
                const std::vector<const ledger::NewEvent*>& events) override {
    std::lock_guard<std::mutex> lock(write_mutex_);
    if (events.size() == 1) {
      sqlite3_stmt* statement = append_one_.get();
      sqlite3_reset(statement);
      sqlite3_bind_text(statement, 1, stream.data(), static_cast<int>(stream.size()),
                        SQLITE_STATIC);
      sqlite3_bind_blob(statement, 2, events[0]->payload.data(),
                        static_cast<int>(events[0]->payload.size()), SQLITE_STATIC);
      sqlite3_bind_int64(statement, 3, NowNs());
      if (sqlite3_step(statement) != SQLITE_DONE) return Failed(db_.get(), "append");
      return Status::Ok();
    }
    return AppendMany(stream, events);
  }

  Result<size_t> ReadNewest(size_t count) override {
    sqlite3_stmt* statement = read_newest_.get();
    sqlite3_reset(statement);
    sqlite3_bind_int64(statement, 1, static_cast<int64_t>(count));
    size_t read = 0;
    int stepped;
    while ((stepped = sqlite3_step(statement)) == SQLITE_ROW) {
      checksum_ += static_cast<uint64_t>(sqlite3_column_bytes(statement, 3));
      ++read;
    }
    if (stepped != SQLITE_DONE) return Failed(db_.get(), "read");
    return read;
  }

  Result<uint64_t> LastPosition() override {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db_.get(), "SELECT COALESCE(MAX(position), 0) FROM bench_events", -1,
                           &raw, nullptr) != SQLITE_OK) {
      return Failed(db_.get(), "prepare");
    }
    Statement statement(raw, &sqlite3_finalize);
    if (sqlite3_step(statement.get()) != SQLITE_ROW) return Failed(db_.get(), "last position");
    return static_cast<uint64_t>(sqlite3_column_int64(statement.get(), 0));
  }

  // Polls the table: SQLite has no subscription, so a tailing reader re-queries.
  Result<uint64_t> CatchUp(uint64_t after) override {
    auto deadline = std::chrono::steady_clock::now() + kCatchUpWait;
    sqlite3_stmt* statement = catch_up_.get();
    for (;;) {
      sqlite3_reset(statement);
      sqlite3_bind_int64(statement, 1, static_cast<int64_t>(after));
      uint64_t last = after;
      int stepped;
      while ((stepped = sqlite3_step(statement)) == SQLITE_ROW) {
        last = static_cast<uint64_t>(sqlite3_column_int64(statement, 0));
        checksum_ += static_cast<uint64_t>(sqlite3_column_bytes(statement, 3));
      }
      if (stepped != SQLITE_DONE) return Failed(db_.get(), "catch up");
      if (last > after || std::chrono::steady_clock::now() >= deadline) return last;
      std::this_thread::sleep_for(kPollInterval);
    }
  }

 private:
  Status Exec(const char* sql) {
    if (sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
      return Failed(db_.get(), sql);
    }
    return Status::Ok();
  }

  Status AppendMany(const std::string& stream, const std::vector<const ledger::NewEvent*>& events) {
    ROLLBOOK_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
    Status inserted = InsertAll(stream, events);
    if (!inserted.ok()) {
      Status ignored = Exec("ROLLBACK");
      return inserted;
    }
    return Exec("COMMIT");
  }

  Status InsertAll(const std::string& stream, const std::vector<const ledger::NewEvent*>& events) {
    sqlite3_stmt* version = stream_version_.get();
    sqlite3_reset(version);
    sqlite3_bind_text(version, 1, stream.data(), static_cast<int>(stream.size()), SQLITE_STATIC);
    if (sqlite3_step(version) != SQLITE_ROW) return Failed(db_.get(), "stream version");
    int64_t next = sqlite3_column_int64(version, 0);
    sqlite3_reset(version);

    sqlite3_stmt* insert = insert_at_.get();
    int64_t now = NowNs();
    for (const ledger::NewEvent* event : events) {
      sqlite3_reset(insert);
      sqlite3_bind_text(insert, 1, stream.data(), static_cast<int>(stream.size()), SQLITE_STATIC);
      sqlite3_bind_int64(insert, 2, ++next);
      sqlite3_bind_int64(insert, 3, now);
      sqlite3_bind_blob(insert, 4, event->payload.data(), static_cast<int>(event->payload.size()),
                        SQLITE_STATIC);
      if (sqlite3_step(insert) != SQLITE_DONE) return Failed(db_.get(), "insert");
    }
    return Status::Ok();
  }

  // Statements are declared after db_, so they are finalized before the database closes.
  Database db_;
  std::mutex& write_mutex_;
  Statement append_one_{nullptr, &sqlite3_finalize};
  Statement stream_version_{nullptr, &sqlite3_finalize};
  Statement insert_at_{nullptr, &sqlite3_finalize};
  Statement read_newest_{nullptr, &sqlite3_finalize};
  Statement catch_up_{nullptr, &sqlite3_finalize};
  uint64_t checksum_ = 0;  // keeps the reads from being optimized away
};

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(std::string path) : path_(std::move(path)) {}

  Result<std::unique_ptr<Session>> NewSession() override {
    auto db = OpenDatabase(path_);
    if (!db.ok()) return db.status();
    auto session = std::make_unique<SqliteSession>(std::move(db).value(), write_mutex_);
    ROLLBOOK_RETURN_IF_ERROR(session->Prepare());
    return std::unique_ptr<Session>(std::move(session));
  }
  std::string name() const override { return "sqlite"; }

 private:
  std::string path_;
  std::mutex write_mutex_;  // one writer at a time, as SQLite allows
};

}  // namespace

Result<std::unique_ptr<Store>> OpenSqliteStore(const StoreOptions& options) {
  if (!options.sync) return InvalidArgument("sqlite runs only with synchronous=FULL");
  std::string path = options.directory + "/events.sqlite";
  auto db = OpenDatabase(path);
  if (!db.ok()) return db.status();
  if (sqlite3_exec(db->get(), kCreateTable, nullptr, nullptr, nullptr) != SQLITE_OK) {
    return Failed(db->get(), "create table");
  }
  return std::unique_ptr<Store>(std::make_unique<SqliteStore>(path));
}

}  // namespace rollbook::bench
