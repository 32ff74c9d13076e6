// PostgreSQL connection targets and a small RAII wrapper over libpq, for the postgres driver.
//
// A DSN usually carries a password, resolved from a secret reference. The password is kept only
// in PgTarget::password: Location(), Origin() and ConninfoWithoutPassword() never contain it, and
// no message built here contains it.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ledger/status.h"

struct pg_conn;
struct pg_result;

namespace rollbook::commands {

struct PgTarget {
  std::string host;    // as written in the DSN (or PGHOST), "localhost" when neither sets one
  std::string port;    // "5432" unless the DSN or PGPORT sets one
  std::string dbname;  // defaults to the user name, as libpq does
  std::string user;
  std::string password;  // empty when the DSN has none; never log or record it
  std::vector<std::pair<std::string, std::string>> options;  // every DSN option but the password

  std::string Location() const { return host + ":" + port + "/" + dbname; }
  // The backup-store origin of this database: "postgres:<host>:<port>/<dbname>".
  std::string Origin() const { return "postgres:" + Location(); }
  // Returns a keyword/value connection string with the DSN's options except the password, for
  // pg_dump and pg_restore, which get the password through PGPASSWORD.
  std::string ConninfoWithoutPassword() const;
};

// Parses a libpq connection string (key=value pairs or a postgresql:// URI). Fails with
// kInvalidArgument when libpq cannot parse it; the message hides quoted parts of libpq's text,
// which may be pieces of the DSN.
Result<PgTarget> ParsePgTarget(const std::string& dsn);

struct PgResultDeleter {
  void operator()(pg_result* result) const;
};
using PgResultPtr = std::unique_ptr<pg_result, PgResultDeleter>;

// Maps a SQLSTATE to a status code: 57014 (query cancelled by statement_timeout) is kTimeout,
// class 08 kUnavailable, class 28 and 42501 kPermissionDenied, class 40 kConflict, others
// kInvalidArgument.
StatusCode StatusCodeForSqlState(std::string_view sqlstate);

// One libpq connection. Not thread-safe; movable, closes on destruction.
class PgConnection {
 public:
  // Connects with connect_timeout set from `timeout` (whole seconds, at least 2) unless the DSN
  // sets one, and application_name "rollbook" unless the DSN sets one. Fails with kUnavailable
  // (kPermissionDenied when the server wants a password and none was given), naming host, port,
  // database and user.
  static Result<PgConnection> Connect(const PgTarget& target, std::chrono::milliseconds timeout);

  // Runs one statement through the extended protocol, which rejects several statements in one
  // string. On error the message is the server's ("ERROR: ... (SQLSTATE 42P01)"), with the code
  // from StatusCodeForSqlState().
  Result<PgResultPtr> Execute(std::string_view sql);

  // Runs `sql` and ignores any rows it returns.
  Status Run(std::string_view sql) {
    Result<PgResultPtr> result = Execute(sql);
    return result.ok() ? Status::Ok() : result.status();
  }

  // Sets statement_timeout for the session, in milliseconds (at least 1).
  Status SetStatementTimeout(std::chrono::milliseconds timeout);

  // Asks the server to cancel the statement running on this connection, which then fails with
  // SQLSTATE 57014. Safe to call from another thread while Execute() runs.
  Status RequestCancel();

 private:
  struct ConnDeleter {
    void operator()(pg_conn* conn) const;
  };
  explicit PgConnection(pg_conn* conn) : conn_(conn) {}
  Status AbortCopy(bool copy_in);

  std::unique_ptr<pg_conn, ConnDeleter> conn_;
};

}  // namespace rollbook::commands
