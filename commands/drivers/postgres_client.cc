#include "commands/drivers/postgres_client.h"

#include <libpq-fe.h>

#include <algorithm>
#include <cctype>
#include <map>

namespace rollbook::commands {
namespace {

// Collapses libpq's multi-line messages to one line.
std::string OneLine(std::string_view text) {
  std::string line;
  bool in_space = false;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      in_space = true;
      continue;
    }
    if (in_space && !line.empty()) line += ' ';
    in_space = false;
    line += c;
  }
  return line;
}

// libpq quotes the offending token of a connection string, which may be part of a password.
std::string HideQuoted(std::string_view text) {
  std::string hidden;
  bool in_quote = false;
  for (char c : text) {
    if (c == '"') {
      hidden += in_quote ? "\"" : "\"...";
      in_quote = !in_quote;
    } else if (!in_quote) {
      hidden += c;
    }
  }
  return hidden;
}

std::string QuoteConninfoValue(std::string_view value) {
  std::string quoted = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "'";
}

// Returns libpq's default for each option (environment variables such as PGHOST included).
std::map<std::string, std::string> ConnectionDefaults() {
  std::map<std::string, std::string> defaults;
  PQconninfoOption* options = PQconndefaults();
  if (options == nullptr) return defaults;
  for (PQconninfoOption* option = options; option->keyword != nullptr; ++option) {
    if (option->val != nullptr) defaults[option->keyword] = option->val;
  }
  PQconninfoFree(options);
  return defaults;
}

std::string FirstNonEmpty(std::initializer_list<std::string> values, std::string fallback) {
  for (const std::string& value : values) {
    if (!value.empty()) return value;
  }
  return fallback;
}

}  // namespace

std::string PgTarget::ConninfoWithoutPassword() const {
  std::string conninfo;
  for (const auto& [keyword, value] : options) {
    if (!conninfo.empty()) conninfo += ' ';
    conninfo += keyword + "=" + QuoteConninfoValue(value);
  }
  return conninfo;
}

Result<PgTarget> ParsePgTarget(const std::string& dsn) {
  if (dsn.empty()) {
    return InvalidArgument(
        "parameter `dsn` is empty; give a libpq connection string such as "
        "\"host=127.0.0.1 port=5432 dbname=app user=app\"");
  }
  char* error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(dsn.c_str(), &error);
  if (parsed == nullptr) {
    std::string reason = error != nullptr ? OneLine(HideQuoted(error)) : "out of memory";
    PQfreemem(error);
    return InvalidArgument("invalid dsn: libpq cannot parse it (" + reason +
                           "); use key=value pairs such as \"host=... dbname=...\" or a "
                           "postgresql:// URI");
  }

  PgTarget target;
  std::map<std::string, std::string> dsn_options;
  for (PQconninfoOption* option = parsed; option->keyword != nullptr; ++option) {
    if (option->val == nullptr) continue;
    std::string keyword = option->keyword;
    if (keyword == "password") {
      target.password = option->val;
      continue;
    }
    dsn_options[keyword] = option->val;
    target.options.emplace_back(keyword, option->val);
  }
  PQconninfoFree(parsed);

  std::map<std::string, std::string> defaults = ConnectionDefaults();
  target.host =
      FirstNonEmpty({dsn_options["host"], dsn_options["hostaddr"], defaults["host"]}, "localhost");
  target.port = FirstNonEmpty({dsn_options["port"], defaults["port"]}, "5432");
  target.user = FirstNonEmpty({dsn_options["user"], defaults["user"]}, "");
  target.dbname =
      FirstNonEmpty({dsn_options["dbname"], defaults["dbname"], target.user}, "postgres");
  return target;
}

void PgResultDeleter::operator()(pg_result* result) const { PQclear(result); }
void PgConnection::ConnDeleter::operator()(pg_conn* conn) const { PQfinish(conn); }

StatusCode StatusCodeForSqlState(std::string_view sqlstate) {
  if (sqlstate == "57014") return StatusCode::kTimeout;
  if (sqlstate.starts_with("08")) return StatusCode::kUnavailable;
  if (sqlstate.starts_with("28") || sqlstate == "42501") return StatusCode::kPermissionDenied;
  if (sqlstate.starts_with("40")) return StatusCode::kConflict;
  return StatusCode::kInvalidArgument;
}

Result<PgConnection> PgConnection::Connect(const PgTarget& target,
                                           std::chrono::milliseconds timeout) {
  std::vector<std::pair<std::string, std::string>> options = target.options;
  auto has = [&](std::string_view keyword) {
    return std::any_of(options.begin(), options.end(),
                       [&](const auto& option) { return option.first == keyword; });
  };
  if (!has("connect_timeout")) {
    int64_t seconds = std::max<int64_t>(2, (timeout.count() + 999) / 1000);
    options.emplace_back("connect_timeout", std::to_string(seconds));
  }
  if (!has("application_name")) options.emplace_back("application_name", "rollbook");
  if (!target.password.empty()) options.emplace_back("password", target.password);

  std::vector<const char*> keywords;
  std::vector<const char*> values;
  for (const auto& [keyword, value] : options) {
    keywords.push_back(keyword.c_str());
    values.push_back(value.c_str());
  }
  keywords.push_back(nullptr);
  values.push_back(nullptr);

  PgConnection connection(PQconnectdbParams(keywords.data(), values.data(), 0));
  pg_conn* conn = connection.conn_.get();
  if (conn != nullptr && PQstatus(conn) == CONNECTION_OK) return connection;

  std::string reason = conn != nullptr ? OneLine(PQerrorMessage(conn)) : "out of memory";
  bool needs_password = conn != nullptr && PQconnectionNeedsPassword(conn);
  return Status(needs_password ? StatusCode::kPermissionDenied : StatusCode::kUnavailable,
                "cannot connect to PostgreSQL at " + target.Location() + " as user \"" +
                    target.user + "\": " + reason +
                    "; check the dsn's host, port, dbname, user and password");
}

Result<PgResultPtr> PgConnection::Execute(std::string_view sql) {
  std::string text(sql);
  PgResultPtr result(
      PQexecParams(conn_.get(), text.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0));
  ExecStatusType status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return result;
  if (status == PGRES_COPY_IN || status == PGRES_COPY_OUT)
    return AbortCopy(status == PGRES_COPY_IN);

  if (!result || PQresultErrorField(result.get(), PG_DIAG_SQLSTATE) == nullptr) {
    // No server error: the connection broke or libpq failed on its own.
    return Status(StatusCode::kUnavailable,
                  "PostgreSQL connection failed: " + OneLine(PQerrorMessage(conn_.get())));
  }
  auto field = [&](int code) {
    const char* value = PQresultErrorField(result.get(), code);
    return std::string(value != nullptr ? value : "");
  };
  std::string sqlstate = field(PG_DIAG_SQLSTATE);
  std::string message = field(PG_DIAG_SEVERITY) + ": " + field(PG_DIAG_MESSAGE_PRIMARY) +
                        " (SQLSTATE " + sqlstate + ")";
  std::string detail = field(PG_DIAG_MESSAGE_DETAIL);
  if (!detail.empty()) message += "; detail: " + OneLine(detail);
  std::string hint = field(PG_DIAG_MESSAGE_HINT);
  if (!hint.empty()) message += "; hint: " + OneLine(hint);
  return Status(StatusCodeForSqlState(sqlstate), message);
}

// COPY FROM STDIN and TO STDOUT need a client that streams the data, such as psql. The copy is
// ended (with an error for FROM STDIN, so nothing is loaded) and its output discarded, which
// leaves the connection usable.
Status PgConnection::AbortCopy(bool copy_in) {
  pg_conn* conn = conn_.get();
  if (copy_in) {
    PQputCopyEnd(conn, "rollbook does not stream COPY data");
  } else {
    char* buffer = nullptr;
    while (PQgetCopyData(conn, &buffer, 0) > 0) PQfreemem(buffer);
  }
  while (PgResultPtr result{PQgetResult(conn)}) {
  }
  return InvalidArgument(
      "COPY ... FROM STDIN and COPY ... TO STDOUT are not supported; "
      "use COPY with a server-side file or INSERT statements");
}

Status PgConnection::RequestCancel() {
  std::unique_ptr<PGcancel, decltype(&PQfreeCancel)> cancel(PQgetCancel(conn_.get()), PQfreeCancel);
  if (!cancel) return Internal("cannot cancel the statement: the connection is not open");
  char error[256] = {};
  if (PQcancel(cancel.get(), error, sizeof(error)) != 1) {
    return Status(StatusCode::kUnavailable,
                  std::string("cancelling the statement failed: ") + error);
  }
  return Status::Ok();
}

Status PgConnection::SetStatementTimeout(std::chrono::milliseconds timeout) {
  int64_t milliseconds = std::max<int64_t>(1, timeout.count());
  return Run("SET statement_timeout = " + std::to_string(milliseconds));
}

}  // namespace rollbook::commands
