// PostgreSQL as an event store: an append-only table with a global bigserial position and a
// unique (stream, version), one transaction per append, one libpq connection per client.
#include <libpq-fe.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <thread>

#include "tools/bench/stores.h"

namespace rollbook::bench {
namespace {

constexpr auto kCatchUpWait = std::chrono::milliseconds(100);
constexpr auto kPollInterval = std::chrono::milliseconds(1);
constexpr int kMaxAttempts = 100;
constexpr const char* kUniqueViolation = "23505";

constexpr const char* kCreateTable = R"sql(
DROP TABLE IF EXISTS bench_events;
CREATE TABLE bench_events (
  position    bigserial PRIMARY KEY,
  stream      text NOT NULL,
  version     bigint NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  payload     bytea NOT NULL,
  UNIQUE (stream, version)
))sql";

// The next version is computed inside the INSERT, so one statement is one transaction.
constexpr const char* kAppendOne = R"sql(
INSERT INTO bench_events (stream, version, payload)
SELECT $1::text, COALESCE(MAX(version), 0) + 1, $2::bytea FROM bench_events WHERE stream = $1)sql";
constexpr const char* kStreamVersion =
    "SELECT COALESCE(MAX(version), 0) FROM bench_events WHERE stream = $1";
constexpr const char* kInsertAt =
    "INSERT INTO bench_events (stream, version, payload) VALUES ($1, $2, $3)";
constexpr const char* kReadNewest =
    "SELECT position, stream, version, payload FROM bench_events ORDER BY position DESC LIMIT $1";
constexpr const char* kCatchUp =
    "SELECT position, stream, version, payload FROM bench_events WHERE position > $1 "
    "ORDER BY position LIMIT 512";

using Connection = std::unique_ptr<PGconn, decltype(&PQfinish)>;
using QueryResult = std::unique_ptr<PGresult, decltype(&PQclear)>;

Result<Connection> Connect(const std::string& dsn) {
  Connection connection(PQconnectdb(dsn.c_str()), &PQfinish);
  if (PQstatus(connection.get()) != CONNECTION_OK) {
    return Status(StatusCode::kUnavailable,
                  std::string("cannot connect to PostgreSQL: ") + PQerrorMessage(connection.get()));
  }
  return connection;
}

bool IsUniqueViolation(const PGresult* result) {
  const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  return state != nullptr && std::strcmp(state, kUniqueViolation) == 0;
}

class PostgresSession final : public Session {
 public:
  explicit PostgresSession(Connection connection) : connection_(std::move(connection)) {}

  Status Prepare() {
    const std::pair<const char*, const char*> statements[] = {{"append_one", kAppendOne},
                                                              {"stream_version", kStreamVersion},
                                                              {"insert_at", kInsertAt},
                                                              {"read_newest", kReadNewest},
                                                              {"catch_up", kCatchUp}};
    for (const auto& [name, sql] : statements) {
      QueryResult result(PQprepare(connection_.get(), name, sql, 0, nullptr), &PQclear);
      if (PQresultStatus(result.get()) != PGRES_COMMAND_OK) return Failed("prepare", result.get());
    }
    return Status::Ok();
  }

  Status Append(const std::string& stream,
                const std::vector<const ledger::NewEvent*>& events) override {
    for (int attempt = 1; attempt <= kMaxAttempts; ++attempt) {
      QueryResult result =
          events.size() == 1 ? AppendOne(stream, *events[0]) : AppendMany(stream, events);
      ExecStatusType status = PQresultStatus(result.get());
      if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return Status::Ok();
      if (!IsUniqueViolation(result.get())) return Failed("append", result.get());
      if (events.size() > 1) Exec("ROLLBACK");
      ++retries_;
    }
    return Conflict("append to stream '" + stream + "' lost the version race " +
                    std::to_string(kMaxAttempts) + " times");
  }

  Result<size_t> ReadNewest(size_t count) override {
    std::string limit = std::to_string(count);
    const char* values[] = {limit.c_str()};
    QueryResult result(
        PQexecPrepared(connection_.get(), "read_newest", 1, values, nullptr, nullptr, 1), &PQclear);
    if (PQresultStatus(result.get()) != PGRES_TUPLES_OK) return Failed("read", result.get());
    return static_cast<size_t>(PQntuples(result.get()));
  }

  Result<uint64_t> LastPosition() override {
    QueryResult result(
        PQexec(connection_.get(), "SELECT COALESCE(MAX(position), 0) FROM bench_events"), &PQclear);
    if (PQresultStatus(result.get()) != PGRES_TUPLES_OK)
      return Failed("last position", result.get());
    return std::stoull(PQgetvalue(result.get(), 0, 0));
  }

  // Polls the table: a plain table has no subscription, so a tailing reader re-queries.
  Result<uint64_t> CatchUp(uint64_t after) override {
    auto deadline = std::chrono::steady_clock::now() + kCatchUpWait;
    for (;;) {
      std::string from = std::to_string(after);
      const char* values[] = {from.c_str()};
      QueryResult result(
          PQexecPrepared(connection_.get(), "catch_up", 1, values, nullptr, nullptr, 0), &PQclear);
      if (PQresultStatus(result.get()) != PGRES_TUPLES_OK) return Failed("catch up", result.get());
      int rows = PQntuples(result.get());
      if (rows > 0) return std::stoull(PQgetvalue(result.get(), rows - 1, 0));
      if (std::chrono::steady_clock::now() >= deadline) return after;
      std::this_thread::sleep_for(kPollInterval);
    }
  }

  uint64_t retries() const override { return retries_; }

 private:
  QueryResult AppendOne(const std::string& stream, const ledger::NewEvent& event) {
    const char* values[] = {stream.c_str(), event.payload.data()};
    int lengths[] = {0, static_cast<int>(event.payload.size())};
    int formats[] = {0, 1};
    return QueryResult(
        PQexecPrepared(connection_.get(), "append_one", 2, values, lengths, formats, 0), &PQclear);
  }

  // One transaction: read the stream's version, insert each event at the next one.
  QueryResult AppendMany(const std::string& stream,
                         const std::vector<const ledger::NewEvent*>& events) {
    QueryResult begun(PQexec(connection_.get(), "BEGIN"), &PQclear);
    if (PQresultStatus(begun.get()) != PGRES_COMMAND_OK) return begun;
    const char* stream_value[] = {stream.c_str()};
    QueryResult version(
        PQexecPrepared(connection_.get(), "stream_version", 1, stream_value, nullptr, nullptr, 0),
        &PQclear);
    if (PQresultStatus(version.get()) != PGRES_TUPLES_OK) return version;
    uint64_t next = std::stoull(PQgetvalue(version.get(), 0, 0));
    for (const ledger::NewEvent* event : events) {
      std::string version_text = std::to_string(++next);
      const char* values[] = {stream.c_str(), version_text.c_str(), event->payload.data()};
      int lengths[] = {0, 0, static_cast<int>(event->payload.size())};
      int formats[] = {0, 0, 1};
      QueryResult inserted(
          PQexecPrepared(connection_.get(), "insert_at", 3, values, lengths, formats, 0), &PQclear);
      if (PQresultStatus(inserted.get()) != PGRES_COMMAND_OK) return inserted;
    }
    return QueryResult(PQexec(connection_.get(), "COMMIT"), &PQclear);
  }

  void Exec(const char* sql) { QueryResult ignored(PQexec(connection_.get(), sql), &PQclear); }

  Status Failed(const std::string& what, const PGresult* result) const {
    return IoError("PostgreSQL " + what + " failed: " + PQresultErrorMessage(result));
  }

  Connection connection_;
  uint64_t retries_ = 0;
};

class PostgresStore final : public Store {
 public:
  explicit PostgresStore(std::string dsn) : dsn_(std::move(dsn)) {}

  Result<std::unique_ptr<Session>> NewSession() override {
    auto connection = Connect(dsn_);
    if (!connection.ok()) return connection.status();
    auto session = std::make_unique<PostgresSession>(std::move(connection).value());
    ROLLBOOK_RETURN_IF_ERROR(session->Prepare());
    return std::unique_ptr<Session>(std::move(session));
  }
  std::string name() const override { return "postgres"; }

 private:
  std::string dsn_;
};

}  // namespace

Result<std::unique_ptr<Store>> OpenPostgresStore(const StoreOptions& options) {
  if (options.dsn.empty()) return InvalidArgument("postgres needs --dsn");
  if (!options.sync) {
    return InvalidArgument("postgres runs only with sync: the server's synchronous_commit=on");
  }
  if (!options.reuse) {
    auto connection = Connect(options.dsn);
    if (!connection.ok()) return connection.status();
    QueryResult created(PQexec(connection->get(), kCreateTable), &PQclear);
    if (PQresultStatus(created.get()) != PGRES_COMMAND_OK) {
      return IoError(std::string("cannot create the PostgreSQL table: ") +
                     PQresultErrorMessage(created.get()));
    }
  }
  return std::unique_ptr<Store>(std::make_unique<PostgresStore>(options.dsn));
}

}  // namespace rollbook::bench
