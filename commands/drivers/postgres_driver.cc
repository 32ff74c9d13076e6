// The postgres driver: pg_dump backups into the backup store, SQL files run in one transaction,
// verification queries, and pg_restore of recorded backups (by id, or the newest taken at or
// before a target time).
//
// The DSN's password reaches libpq directly and pg_dump/pg_restore through PGPASSWORD in their
// environment, never their argv. Messages, summaries and records name only host, port and
// database, and pass through the step's Redactor as well.
#include <libpq-fe.h>
#include <spdlog/spdlog.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "commands/drivers/backup_support.h"
#include "commands/drivers/drivers.h"
#include "commands/drivers/postgres_client.h"
#include "commands/drivers/postgres_tools.h"
#include "commands/drivers/sql_statements.h"
#include "commands/secrets.h"
#include "ledger/time_format.h"

namespace rollbook::commands {
namespace {

constexpr char kFormat[] = "pg_dump-custom";
constexpr size_t kMaxShownStderr = 2000;

std::vector<ActionSpec> PostgresActions() {
  ParamSpec dsn{"dsn", ParamType::kString, true,
                "libpq connection string; put the password in a secret reference"};
  ParamSpec bin_dir{"pg_bin_dir", ParamType::kString, false,
                    "directory with pg_dump and pg_restore (default: newest "
                    "/usr/lib/postgresql/*/bin)"};
  return {
      {"backup",
       StepRole::kBackup,
       false,
       true,
       {dsn, bin_dir},
       "pg_dump --format=custom of the database into the backup store"},
      {"sql",
       StepRole::kChange,
       true,
       false,
       {dsn, {"file", ParamType::kString, true, "SQL file to run in one transaction"}},
       "run a SQL file in one transaction; on any error nothing is applied"},
      {"verify",
       StepRole::kVerify,
       false,
       true,
       {dsn,
        {"query", ParamType::kString, true, "query run in a read-only transaction"},
        {"expected", ParamType::kAny, false,
         "expected value of the single result in PostgreSQL's text form (true/false read as "
         "t/f)"},
        {"expected_rows", ParamType::kInteger, false, "expected number of result rows"}},
       "run a query and compare its result with the expected value"},
      {"restore",
       StepRole::kChange,
       true,
       true,
       {dsn,
        bin_dir,
        {"backup_id", ParamType::kString, false,
         "backup to restore (default: the latest backup of this database in this rollback)"}},
       "pg_restore --clean --if-exists --single-transaction --no-owner of a recorded backup"},
      {"point-in-time",
       StepRole::kChange,
       true,
       true,
       {dsn, bin_dir},
       "restore the newest recorded backup of the database taken at or before the target time"},
  };
}

// Returns `text` on one line, with each run of whitespace as one space, cut at `max_length`.
std::string Abbreviate(std::string_view text, size_t max_length = 100) {
  std::string line;
  bool in_space = false;
  for (char c : text) {
    bool space = std::isspace(static_cast<unsigned char>(c));
    if (space && !in_space && !line.empty()) line += ' ';
    if (!space) line += c;
    in_space = space;
  }
  if (!line.empty() && line.back() == ' ') line.pop_back();
  if (line.size() > max_length) line = line.substr(0, max_length) + "...";
  return line;
}

// Returns the first `count` words of `text`, lower-case.
std::vector<std::string> LeadingWords(std::string_view text, size_t count) {
  std::vector<std::string> words;
  std::string word;
  for (char c : text) {
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      continue;
    }
    if (!word.empty()) words.push_back(std::move(word));
    word.clear();
    if (words.size() == count || !std::isspace(static_cast<unsigned char>(c))) return words;
  }
  if (!word.empty() && words.size() < count) words.push_back(std::move(word));
  return words;
}

std::string FirstWord(std::string_view text) {
  std::vector<std::string> words = LeadingWords(text, 1);
  return words.empty() ? "" : words[0];
}

Result<std::string> ReadTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open SQL file \"" + path + "\"; check the step's `file`");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return IoError("cannot read SQL file \"" + path + "\"");
  return text.str();
}

class PostgresDriver : public Driver {
 public:
  std::string_view name() const override { return "postgres"; }
  const std::vector<ActionSpec>& actions() const override { return actions_; }
  std::string Describe(const StepContext& context) const override;
  StepOutcome Run(const StepContext& context) override;

 private:
  StepOutcome RunAction(const StepContext& context, const PgTarget& target);
  StepOutcome Backup(const StepContext& context, const PgTarget& target);
  StepOutcome ApplySqlFile(const StepContext& context, const PgTarget& target);
  StepOutcome Verify(const StepContext& context, const PgTarget& target);
  StepOutcome Restore(const StepContext& context, const PgTarget& target,
                      Result<BackupRecord> backup);

  std::vector<ActionSpec> actions_ = PostgresActions();
};

StepOutcome Failed(Status status, StepResult result = {}) {
  return StepOutcome{std::move(status), std::move(result)};
}

Result<PgTarget> TargetOf(const StepContext& context) {
  ParamReader params(context);
  std::string dsn = params.String("dsn");
  if (!params.ok()) return params.status();
  return ParsePgTarget(dsn);
}

std::vector<std::string> PasswordEnvironment(const PgTarget& target,
                                             std::chrono::milliseconds timeout) {
  std::vector<std::string> env;
  int64_t seconds = std::max<int64_t>(2, (timeout.count() + 999) / 1000);
  env.push_back("PGCONNECT_TIMEOUT=" + std::to_string(seconds));
  if (!target.password.empty()) env.push_back("PGPASSWORD=" + target.password);
  return env;
}

// Runs pg_dump or pg_restore against `target` with `args` after the connection arguments.
// Fails with kUnavailable when the program exits non-zero, and with the runner's status (kTimeout,
// kCancelled, kNotFound, kIoError) when it cannot run to the end. `output` gets its redacted
// stderr.
Status RunPgProgram(const StepContext& context, const PgTarget& target, std::string_view program,
                    const std::vector<std::string>& args, CapturedOutput& output) {
  ParamReader params(context);
  std::string bin_dir = params.String("pg_bin_dir", "");
  if (!params.ok()) return params.status();
  Result<std::string> dir = FindPostgresBinDir(bin_dir);
  if (!dir.ok()) return dir.status();

  std::vector<std::string> argv = {(std::filesystem::path(*dir) / program).string(),
                                   "--no-password", "--dbname=" + target.ConninfoWithoutPassword()};
  argv.insert(argv.end(), args.begin(), args.end());
  Result<ChildRun> run = RunChildProcess(argv, PasswordEnvironment(target, context.timeout),
                                         context.timeout, context.cancelled);
  if (!run.ok()) return run.status().WithContext(std::string(program) + " on " + target.Location());

  output.stderr_text = RedactText(context, run->stderr_text);
  output.exit_code = run->exit_code;
  if (run->exit_code == 0) return Status::Ok();
  return Status(StatusCode::kUnavailable, std::string(program) + " on " + target.Location() +
                                              " failed with exit code " +
                                              std::to_string(run->exit_code) + ": " +
                                              Abbreviate(output.stderr_text, kMaxShownStderr));
}

// Finds the backup a restore step names, or the latest of this database in this rollback.
Result<BackupRecord> ChosenBackup(const StepContext& context, const PgTarget& target) {
  if (context.catalog == nullptr) return Internal("the step has no backup catalog");
  ParamReader params(context);
  std::string id = params.String("backup_id", "");
  if (!params.ok()) return params.status();
  if (!id.empty()) return context.catalog->FindById(id);

  Result<BackupRecord> latest =
      context.catalog->LatestInRollback(context.rollback_id, target.Origin());
  if (latest.ok() || latest.status().code() != StatusCode::kNotFound) return latest;
  return NotFound("no backup of " + target.Origin() + " was taken in rollback " +
                  context.rollback_id +
                  "; add a postgres backup step before this one or give backup_id");
}

// Returns the oldest backup of `origin`, given that none was taken at or before `none_until_ns`
// and that `newest` is the newest. The catalogue only returns the newest backup at or before a
// time, so this bisects the time range between, which takes at most 64 lookups.
// TODO: replace with a catalogue lookup of the oldest backup once BackupCatalog offers one.
Result<BackupRecord> OldestBackup(BackupCatalog& catalog, const std::string& origin,
                                  int64_t none_until_ns, BackupRecord newest) {
  int64_t low = none_until_ns + 1;  // the oldest backup was taken at or after `low`
  BackupRecord oldest = std::move(newest);
  while (low < oldest.taken_at_ns) {
    uint64_t span = static_cast<uint64_t>(oldest.taken_at_ns - 1) - static_cast<uint64_t>(low);
    int64_t middle = low + static_cast<int64_t>(span / 2);
    Result<BackupRecord> found = catalog.NewestForOrigin(origin, middle);
    if (found.ok()) {
      oldest = std::move(*found);
    } else if (found.status().code() == StatusCode::kNotFound) {
      low = middle + 1;
    } else {
      return found.status();
    }
  }
  return oldest;
}

Result<BackupRecord> BackupAtOrBefore(const StepContext& context, const PgTarget& target) {
  if (context.catalog == nullptr) return Internal("the step has no backup catalog");
  if (context.target_time_ns == 0) {
    return InvalidArgument("point-in-time needs a target time; pass --target-time");
  }
  std::string origin = target.Origin();
  std::string when = ledger::FormatTimestamp(context.target_time_ns);
  Result<BackupRecord> found = context.catalog->NewestForOrigin(origin, context.target_time_ns);
  if (found.ok() || found.status().code() != StatusCode::kNotFound) return found;

  Result<BackupRecord> newest =
      context.catalog->NewestForOrigin(origin, std::numeric_limits<int64_t>::max());
  if (!newest.ok()) {
    return NotFound("no backup of " + origin + " is recorded, so none was taken at or before " +
                    when + "; take a backup first or choose another mode");
  }
  Result<BackupRecord> oldest =
      OldestBackup(*context.catalog, origin, context.target_time_ns, *newest);
  if (!oldest.ok()) return oldest.status();
  return NotFound("no backup of " + origin + " was taken at or before " + when +
                  "; the oldest is " + oldest->id + " taken " +
                  ledger::FormatTimestamp(oldest->taken_at_ns) +
                  "; choose a target time at or after it");
}

std::string PostgresDriver::Describe(const StepContext& context) const {
  Result<PgTarget> target = TargetOf(context);
  std::string where = target.ok() ? target->Location() : "a database with an invalid dsn";
  ParamReader params(context);
  if (context.action == "backup") return "pg_dump " + where + " into the backup store";
  if (context.action == "sql") {
    return "apply " + params.String("file", "?") + " to " + where + " in one transaction";
  }
  if (context.action == "verify") {
    return "run `" + Abbreviate(params.String("query", "?")) + "` on " + where +
           " and compare the result";
  }
  if (context.action == "restore") {
    std::string id = params.String("backup_id", "");
    std::string backup_choice =
        !id.empty() ? "backup " + id : "the latest backup taken in this rollback";
    return "pg_restore " + backup_choice + " into " + where;
  }
  if (context.action == "point-in-time") {
    return "pg_restore into " + where + " the newest backup taken at or before " +
           (context.target_time_ns != 0 ? ledger::FormatTimestamp(context.target_time_ns)
                                        : std::string("the target time"));
  }
  return "postgres: unknown action \"" + context.action + "\"";
}

StepOutcome PostgresDriver::Run(const StepContext& context) {
  if (std::optional<StepOutcome> rejected = RejectUnknownAction(*this, context)) return *rejected;
  Result<PgTarget> target = TargetOf(context);
  if (!target.ok()) return Failed(target.status());
  StepOutcome outcome = RunAction(context, *target);
  outcome.result.host = target->host;
  outcome.result.summary = RedactText(context, std::move(outcome.result.summary));
  if (!outcome.status.ok()) {
    outcome.status = Status(outcome.status.code(), RedactText(context, outcome.status.message()));
  }
  return outcome;
}

StepOutcome PostgresDriver::RunAction(const StepContext& context, const PgTarget& target) {
  if (context.action == "backup") return Backup(context, target);
  if (context.action == "sql") return ApplySqlFile(context, target);
  if (context.action == "verify") return Verify(context, target);
  if (context.action == "restore") {
    Result<BackupRecord> backup = ChosenBackup(context, target);
    if (AwaitsDryRunBackup(context, backup)) {
      StepResult result;
      result.summary = "would pg_restore the backup of " + target.Origin() +
                       " that this rollback's backup step takes, into " + target.Location();
      return {Status::Ok(), std::move(result)};
    }
    return Restore(context, target, std::move(backup));
  }
  if (context.action == "point-in-time") {
    return Restore(context, target, BackupAtOrBefore(context, target));
  }
  return Failed(InvalidArgument("postgres has no action \"" + context.action +
                                "\"; use backup, sql, verify, restore or point-in-time"));
}

StepOutcome PostgresDriver::Backup(const StepContext& context, const PgTarget& target) {
  StepResult result;
  if (context.dry_run) {
    result.summary = "would " + Describe(context);
    return {Status::Ok(), std::move(result)};
  }
  if (context.backups == nullptr) return Failed(Internal("the step has no backup store"));

  Result<TempFile> dump = TempFile::Create("rollbook-pg_dump");
  if (!dump.ok()) return Failed(dump.status());
  Status dumped = RunPgProgram(context, target, "pg_dump",
                               {"--format=custom", "--file=" + dump->path()}, result.output);
  if (!dumped.ok()) return Failed(dumped, std::move(result));

  BackupRecord record;
  record.driver = "postgres";
  record.origin = target.Origin();
  record.format = kFormat;
  record.rollback_id = context.rollback_id;
  record.component = context.component;
  record.step = context.step;
  Result<BackupRecord> stored = context.backups->PutFile(dump->path(), std::move(record));
  if (!stored.ok()) return Failed(stored.status(), std::move(result));

  spdlog::info("postgres: backed up {} as {} ({} bytes)", target.Location(), stored->id,
               stored->size_bytes);
  result.summary = "backed up " + target.Location() + " with pg_dump as " + BackupLabel(*stored);
  result.backups.push_back(std::move(*stored));
  return {Status::Ok(), std::move(result)};
}

// Returns the statements to run: a BEGIN ... COMMIT wrapper around the whole file is dropped,
// because the driver opens the transaction itself; any other transaction control is rejected.
Result<std::vector<SqlStatement>> StatementsOfFile(const std::string& path) {
  Result<std::string> text = ReadTextFile(path);
  if (!text.ok()) return text.status();
  Result<std::vector<SqlStatement>> split = SplitSqlStatements(*text);
  if (!split.ok()) return split.status().WithContext("SQL file \"" + path + "\"");
  std::vector<SqlStatement> statements = std::move(*split);

  auto is_begin = [](const SqlStatement& s) {
    std::string word = FirstWord(s.text);
    return word == "begin" || word == "start";
  };
  auto is_commit = [](const SqlStatement& s) {
    std::string word = FirstWord(s.text);
    return word == "commit" || word == "end";
  };
  if (statements.size() >= 2 && is_begin(statements.front()) && is_commit(statements.back())) {
    statements.pop_back();
    statements.erase(statements.begin());
  }
  for (const SqlStatement& statement : statements) {
    std::string word = FirstWord(statement.text);
    std::vector<std::string> words = LeadingWords(statement.text, 2);
    bool rollback_to = words.size() == 2 && words[0] == "rollback" && words[1] == "to";
    if (is_begin(statement) || is_commit(statement) || word == "abort" ||
        (word == "rollback" && !rollback_to)) {
      return InvalidArgument("SQL file \"" + path + "\" line " + std::to_string(statement.line) +
                             ": `" + statement.FirstLine() +
                             "` controls the transaction; the sql action runs the whole file in "
                             "one transaction itself, so remove it");
    }
  }
  if (statements.empty()) {
    return InvalidArgument("SQL file \"" + path + "\" contains no statements");
  }
  return statements;
}

StepOutcome PostgresDriver::ApplySqlFile(const StepContext& context, const PgTarget& target) {
  StepResult result;
  ParamReader params(context);
  std::string file = params.String("file");
  if (!params.ok()) return Failed(params.status());
  Result<std::vector<SqlStatement>> statements = StatementsOfFile(file);
  if (!statements.ok()) return Failed(statements.status());
  const size_t count = statements->size();
  if (context.dry_run) {
    result.summary = "would apply " + std::to_string(count) + " statements from " + file + " to " +
                     target.Location() + " in one transaction";
    return {Status::Ok(), std::move(result)};
  }

  Result<PgConnection> connection = PgConnection::Connect(target, context.timeout);
  if (!connection.ok()) return Failed(connection.status());
  auto deadline = std::chrono::steady_clock::now() + context.timeout;
  auto remaining = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                 std::chrono::steady_clock::now());
  };
  Status begun = connection->Run("BEGIN");
  if (!begun.ok()) return Failed(begun.WithContext("BEGIN on " + target.Location()));

  // Run statement by statement, so a failure names its statement. Any failure rolls back.
  auto abandon = [&](Status status) {
    (void)connection->Run("ROLLBACK");  // the server also rolls back if the connection breaks
    return Failed(Status(status.code(), status.message() +
                                            "; the transaction was rolled back and nothing from " +
                                            file + " was applied"));
  };
  for (size_t i = 0; i < count; ++i) {
    const SqlStatement& statement = (*statements)[i];
    if (context.cancelled()) {
      return abandon(Status(
          StatusCode::kCancelled,
          "cancelled before statement " + std::to_string(i + 1) + " of " + std::to_string(count)));
    }
    if (remaining().count() <= 0) {
      return abandon(Status(StatusCode::kTimeout, "step timeout reached before statement " +
                                                      std::to_string(i + 1) + " of " +
                                                      std::to_string(count)));
    }
    Status status = connection->SetStatementTimeout(remaining());
    if (status.ok()) status = connection->Run(statement.text);
    if (!status.ok()) {
      return abandon(Status(status.code(), "statement " + std::to_string(i + 1) + " of " +
                                               std::to_string(count) + " in " + file + " (line " +
                                               std::to_string(statement.line) + ": `" +
                                               statement.FirstLine() + "`) failed on " +
                                               target.Location() + ": " + status.message()));
    }
  }
  Status committed = connection->Run("COMMIT");
  if (!committed.ok()) return abandon(committed.WithContext("COMMIT on " + target.Location()));

  std::string summary = "applied " + std::to_string(count) + " statements from " + file;
  spdlog::info("postgres: {} to {}", summary, target.Location());
  result.changes.push_back(ChangeRecord{target.Origin(), "", "committed", summary});
  result.summary = summary + " to " + target.Location();
  return {Status::Ok(), std::move(result)};
}

Result<std::string> ExpectedText(const StepContext& context) {
  if (context.params == nullptr || !context.params->contains("expected")) return std::string();
  const nlohmann::json& expected = context.params->at("expected");
  if (expected.is_string()) return expected.get<std::string>();
  if (expected.is_boolean()) return std::string(expected.get<bool>() ? "t" : "f");
  if (expected.is_number()) return expected.dump();
  return InvalidArgument("parameter `expected` must be a string, number or boolean");
}

StepOutcome PostgresDriver::Verify(const StepContext& context, const PgTarget& target) {
  StepResult result;
  ParamReader params(context);
  std::string query = params.String("query");
  bool by_rows = params.Has("expected_rows");
  int64_t expected_rows = params.Integer("expected_rows", 0, 0, INT32_MAX);
  if (!by_rows && !params.Has("expected")) {
    params.Fail("give `expected` (the value the query returns) or `expected_rows`");
  }
  if (!params.ok()) return Failed(params.status());
  Result<std::string> expected_value = ExpectedText(context);
  if (!expected_value.ok()) return Failed(expected_value.status());
  std::string expected = by_rows ? std::to_string(expected_rows) : *expected_value;
  std::string check = "`" + Abbreviate(query) + "` on " + target.Location() +
                      (by_rows ? " returns " + expected + " rows" : " returns '" + expected + "'");
  if (context.dry_run) {
    result.summary = "would check that " + check;
    return {Status::Ok(), std::move(result)};
  }

  Result<PgConnection> connection = PgConnection::Connect(target, context.timeout);
  if (!connection.ok()) return Failed(connection.status());
  Status status = connection->SetStatementTimeout(context.timeout);
  if (status.ok()) status = connection->Run("BEGIN READ ONLY");
  if (!status.ok()) return Failed(status.WithContext(target.Location()));
  Result<PgResultPtr> rows = connection->Execute(query);
  (void)connection->Run("ROLLBACK");
  if (!rows.ok()) {
    return Failed(rows.status().WithContext("verification query `" + Abbreviate(query) + "` on " +
                                            target.Location()));
  }

  pg_result* answer = rows->get();
  std::string actual;
  int row_count = PQntuples(answer);
  if (by_rows) {
    actual = std::to_string(row_count);
  } else if (PQnfields(answer) != 1) {
    return Failed(InvalidArgument("verification query `" + Abbreviate(query) + "` returns " +
                                  std::to_string(PQnfields(answer)) +
                                  " columns; `expected` compares one value, so select one column"));
  } else if (row_count != 1) {
    actual = "(" + std::to_string(row_count) + " rows)";
  } else {
    actual = PQgetisnull(answer, 0, 0) ? "NULL" : PQgetvalue(answer, 0, 0);
  }

  bool passed = actual == expected;
  result.verification = VerificationRecord{check, expected, actual, passed};
  if (!passed) {
    result.summary = "verification failed: " + check + " expected, got '" + actual + "'";
    return {FailedPrecondition("verification failed on " + target.Location() + ": `" +
                               Abbreviate(query) + "` returned '" + actual + "', expected '" +
                               expected + "'"),
            std::move(result)};
  }
  result.summary = "verified that " + check;
  return {Status::Ok(), std::move(result)};
}

StepOutcome PostgresDriver::Restore(const StepContext& context, const PgTarget& target,
                                    Result<BackupRecord> backup) {
  StepResult result;
  if (!backup.ok()) return Failed(backup.status());
  if (backup->format != kFormat) {
    return Failed(InvalidArgument("backup " + backup->id + " has format \"" + backup->format +
                                  "\", not " + kFormat + "; choose a postgres backup"));
  }
  if (context.backups == nullptr) return Failed(Internal("the step has no backup store"));
  Result<std::string> path = context.backups->CheckedPath(*backup);
  if (!path.ok()) {
    return Failed(path.status().WithContext("refusing to restore " + backup->id + " into " +
                                            target.Location()));
  }
  std::string restore_description =
      BackupLabel(*backup) + " of " + backup->origin + " into " + target.Location();
  if (context.dry_run) {
    result.summary = "would pg_restore " + restore_description;
    return {Status::Ok(), std::move(result)};
  }

  // Connecting first separates an unreachable database from a restore the database rejects.
  Result<PgConnection> probe = PgConnection::Connect(target, context.timeout);
  if (!probe.ok()) return Failed(probe.status());
  Status restored = RunPgProgram(
      context, target, "pg_restore",
      {"--clean", "--if-exists", "--single-transaction", "--no-owner", *path}, result.output);
  if (!restored.ok() && restored.code() == StatusCode::kUnavailable) {
    return Failed(FailedPrecondition(
                      restored.message() +
                      "; pg_restore ran in one transaction, so the database was left unchanged. "
                      "--clean replaces only the objects in the backup, so objects created "
                      "later that depend on them (such as a foreign key to a restored table) "
                      "block it; drop those first, for example with a sql step"),
                  std::move(result));
  }
  if (!restored.ok()) return Failed(restored, std::move(result));

  spdlog::info("postgres: restored {} into {}", backup->id, target.Location());
  result.summary = "restored " + restore_description;
  result.changes.push_back(ChangeRecord{
      target.Origin(), "",
      "contents of backup " + backup->id + " taken " + ledger::FormatTimestamp(backup->taken_at_ns),
      "restored " + backup->id + " with pg_restore"});
  return {Status::Ok(), std::move(result)};
}

}  // namespace

std::unique_ptr<Driver> MakePostgresDriver() { return std::make_unique<PostgresDriver>(); }

}  // namespace rollbook::commands
