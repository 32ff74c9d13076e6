// The redis driver: back up, purge, count and restore the keys matching glob patterns.
//
// Every key walk uses SCAN with MATCH and COUNT batch_size, never KEYS, so the server keeps
// serving other clients between batches. Keys are removed with UNLINK, which frees their memory
// in the background. FLUSHDB runs only when a purge step sets `flushall: true`.
#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <unordered_set>
#include <vector>

#include "commands/drivers/backup_support.h"
#include "commands/drivers/drivers.h"
#include "commands/drivers/redis_client.h"
#include "commands/drivers/redis_dump_file.h"

namespace rollbook::commands {
namespace {

constexpr char kFormat[] = "redis-dump";
constexpr int64_t kDefaultBatchSize = 500;

std::vector<ActionSpec> RedisActions() {
  std::vector<ParamSpec> connection = {
      {"host", ParamType::kString, false, "server address (default 127.0.0.1)"},
      {"port", ParamType::kInteger, false, "server port (default 6379)"},
      {"username", ParamType::kString, false, "ACL user name for AUTH (default: none)"},
      {"password", ParamType::kString, false, "password for AUTH; use a secret reference"},
      {"db", ParamType::kInteger, false, "database number (default 0)"},
      {"batch_size", ParamType::kInteger, false,
       "SCAN COUNT hint and the maximum keys per UNLINK or RESTORE pipeline (default 500)"},
  };
  auto with = [&](std::vector<ParamSpec> extra) {
    std::vector<ParamSpec> params = connection;
    params.insert(params.end(), extra.begin(), extra.end());
    return params;
  };
  ParamSpec patterns{"patterns", ParamType::kStringList, false,
                     "glob patterns of the keys, as SCAN MATCH takes them"};
  return {
      {"backup", StepRole::kBackup, false, true, with({patterns}),
       "DUMP every matching key, with its time to live, into the backup store"},
      {"purge", StepRole::kChange, true, true,
       with({patterns,
             {"flushall", ParamType::kBoolean, false,
              "FLUSHDB the whole database instead of matching keys (default false)"}}),
       "UNLINK the matching keys in batches found with SCAN; reports how many were removed"},
      {"verify", StepRole::kVerify, false, true,
       with({patterns,
             {"expected_count", ParamType::kInteger, false,
              "number of matching keys expected (default 0)"}}),
       "count the matching keys with SCAN and compare with expected_count"},
      {"restore", StepRole::kChange, true, true,
       with({patterns,
             {"backup_id", ParamType::kString, false,
              "backup to restore (default: the latest backup of these patterns in this "
              "rollback)"}}),
       "RESTORE ... REPLACE every key of a recorded backup with its saved time to live"},
  };
}

// The parameters every action shares.
struct RedisStep {
  RedisEndpoint endpoint;
  std::vector<std::string> patterns;
  int64_t batch_size = kDefaultBatchSize;

  std::string PatternList() const {
    std::string list;
    for (const std::string& pattern : patterns) list += (list.empty() ? "" : ",") + pattern;
    return list;
  }
  // The backup-store origin: "redis:<host>:<port>/<db>:<patterns joined by commas>".
  std::string Origin() const { return "redis:" + endpoint.Location() + ":" + PatternList(); }
  std::string Matching() const {
    return "keys matching " + PatternList() + " in redis " + endpoint.Location();
  }
};

Result<RedisStep> ReadStep(const StepContext& context) {
  ParamReader params(context);
  RedisStep step;
  step.endpoint.host = params.String("host", "127.0.0.1");
  step.endpoint.port = static_cast<int>(params.Integer("port", 6379, 1, 65535));
  step.endpoint.username = params.String("username", "");
  step.endpoint.password = params.String("password", "");
  step.endpoint.db = static_cast<int>(params.Integer("db", 0, 0, std::numeric_limits<int>::max()));
  step.patterns = params.StringList("patterns", {});
  step.batch_size = params.Integer("batch_size", kDefaultBatchSize, 1, 1'000'000);
  if (!params.ok()) return params.status();
  return step;
}

Status RequirePatterns(const RedisStep& step, std::string_view action) {
  if (!step.patterns.empty()) return Status::Ok();
  return InvalidArgument("redis " + std::string(action) +
                         " needs `patterns`, a list of glob patterns such as [\"cache:*\"]");
}

StepOutcome Failed(Status status, StepResult result = {}) {
  return StepOutcome{std::move(status), std::move(result)};
}

// The step's deadline and cancellation, checked between batches.
class StepClock {
 public:
  explicit StepClock(const StepContext& context)
      : context_(context), deadline_(std::chrono::steady_clock::now() + context.timeout) {}

  // Fails with kTimeout or kCancelled; `progress` describes how far the step got, such as
  // "after removing 300 keys".
  Status Check(const std::string& progress) const {
    if (context_.cancelled()) return Status(StatusCode::kCancelled, "cancelled " + progress);
    if (std::chrono::steady_clock::now() >= deadline_) {
      return Status(StatusCode::kTimeout, "step timeout of " +
                                              std::to_string(context_.timeout.count()) +
                                              " ms reached " + progress);
    }
    return Status::Ok();
  }

 private:
  const StepContext& context_;
  std::chrono::steady_clock::time_point deadline_;
};

// Calls `on_keys` with each batch of keys matching any pattern, each key once.
Status ForEachMatchingKey(RedisConnection& connection, const RedisStep& step,
                          const std::function<Status(const std::vector<std::string>&)>& on_keys) {
  std::unordered_set<std::string> seen;
  for (const std::string& pattern : step.patterns) {
    Status status = connection.Scan(pattern, step.batch_size, [&](const auto& keys) {
      std::vector<std::string> fresh;
      for (const std::string& key : keys) {
        if (seen.insert(key).second) fresh.push_back(key);
      }
      return fresh.empty() ? Status::Ok() : on_keys(fresh);
    });
    ROLLBOOK_RETURN_IF_ERROR(status);
  }
  return Status::Ok();
}

Result<uint64_t> CountMatchingKeys(RedisConnection& connection, const RedisStep& step,
                                   const StepClock& clock) {
  uint64_t count = 0;
  Status status = ForEachMatchingKey(connection, step, [&](const auto& keys) {
    count += keys.size();
    return clock.Check("after counting " + std::to_string(count) + " keys");
  });
  if (!status.ok()) return status;
  return count;
}

// Splits `keys` into groups of at most `size`.
std::vector<std::vector<std::string>> Chunks(const std::vector<std::string>& keys, int64_t size) {
  std::vector<std::vector<std::string>> chunks;
  for (size_t i = 0; i < keys.size(); i += static_cast<size_t>(size)) {
    size_t end = std::min(keys.size(), i + static_cast<size_t>(size));
    chunks.emplace_back(keys.begin() + static_cast<std::ptrdiff_t>(i),
                        keys.begin() + static_cast<std::ptrdiff_t>(end));
  }
  return chunks;
}

class RedisDriver : public Driver {
 public:
  std::string_view name() const override { return "redis"; }
  const std::vector<ActionSpec>& actions() const override { return actions_; }
  std::string Describe(const StepContext& context) const override;
  StepOutcome Run(const StepContext& context) override;

 private:
  StepOutcome RunAction(const StepContext& context, const RedisStep& step);
  StepOutcome Backup(const StepContext& context, const RedisStep& step);
  StepOutcome Purge(const StepContext& context, const RedisStep& step);
  StepOutcome FlushDb(const StepContext& context, const RedisStep& step);
  StepOutcome Verify(const StepContext& context, const RedisStep& step);
  StepOutcome Restore(const StepContext& context, const RedisStep& step);

  std::vector<ActionSpec> actions_ = RedisActions();
};

std::string RedisDriver::Describe(const StepContext& context) const {
  Result<RedisStep> read = ReadStep(context);
  if (!read.ok()) return "redis " + context.action + " with invalid parameters";
  const RedisStep& step = *read;
  ParamReader params(context);
  if (context.action == "backup") return "DUMP " + step.Matching() + " into the backup store";
  if (context.action == "purge") {
    if (params.Boolean("flushall", false)) {
      return "FLUSHDB redis " + step.endpoint.Location() + " (flushall: true)";
    }
    return "UNLINK " + step.Matching() + ", found with SCAN COUNT " +
           std::to_string(step.batch_size);
  }
  if (context.action == "verify") {
    return "count " + step.Matching() + " and expect " +
           std::to_string(params.Integer("expected_count", 0));
  }
  if (context.action == "restore") {
    std::string id = params.String("backup_id", "");
    std::string backup_choice =
        id.empty() ? "the latest backup of " + step.Origin() + " in this rollback" : "backup " + id;
    return "RESTORE the keys of " + backup_choice + " into redis " + step.endpoint.Location();
  }
  return "redis: unknown action \"" + context.action + "\"";
}

StepOutcome RedisDriver::Run(const StepContext& context) {
  if (std::optional<StepOutcome> rejected = RejectUnknownAction(*this, context)) return *rejected;
  Result<RedisStep> step = ReadStep(context);
  if (!step.ok()) return Failed(step.status());
  StepOutcome outcome = RunAction(context, *step);
  outcome.result.host = step->endpoint.host;
  outcome.result.summary = RedactText(context, std::move(outcome.result.summary));
  if (!outcome.status.ok()) {
    outcome.status = Status(outcome.status.code(), RedactText(context, outcome.status.message()));
  }
  return outcome;
}

StepOutcome RedisDriver::RunAction(const StepContext& context, const RedisStep& step) {
  if (context.action == "backup") return Backup(context, step);
  if (context.action == "purge") return Purge(context, step);
  if (context.action == "verify") return Verify(context, step);
  if (context.action == "restore") return Restore(context, step);
  return Failed(InvalidArgument("redis has no action \"" + context.action +
                                "\"; use backup, purge, verify or restore"));
}

StepOutcome RedisDriver::Backup(const StepContext& context, const RedisStep& step) {
  StepResult result;
  if (Status status = RequirePatterns(step, "backup"); !status.ok()) return Failed(status);
  if (!context.dry_run && context.backups == nullptr) {
    return Failed(Internal("the step has no backup store"));
  }
  Result<RedisConnection> connection = RedisConnection::Connect(step.endpoint, context.timeout);
  if (!connection.ok()) return Failed(connection.status());
  StepClock clock(context);
  if (context.dry_run) {
    Result<uint64_t> count = CountMatchingKeys(*connection, step, clock);
    if (!count.ok()) return Failed(count.status());
    result.summary =
        "would DUMP " + std::to_string(*count) + " " + step.Matching() + " into the backup store";
    return {Status::Ok(), std::move(result)};
  }

  Result<TempFile> file = TempFile::Create("rollbook-redis-dump");
  if (!file.ok()) return Failed(file.status());
  Result<RedisDumpWriter> writer = RedisDumpWriter::Open(file->path());
  if (!writer.ok()) return Failed(writer.status());

  // DUMP and PTTL of a batch go in one pipeline. A key that expires or is deleted between SCAN
  // and DUMP is skipped (DUMP returns nil, PTTL -2).
  Status status = ForEachMatchingKey(*connection, step, [&](const std::vector<std::string>& keys) {
    std::vector<std::vector<std::string>> commands;
    for (const std::string& key : keys) {
      commands.push_back({"DUMP", key});
      commands.push_back({"PTTL", key});
    }
    Result<std::vector<RedisReplyPtr>> replies = connection->Pipeline(commands);
    if (!replies.ok()) return replies.status();
    for (size_t i = 0; i < keys.size(); ++i) {
      const redisReply& dump = *(*replies)[2 * i];
      const redisReply& ttl = *(*replies)[2 * i + 1];
      if (dump.type == REDIS_REPLY_ERROR) {
        return Status(StatusCode::kUnavailable,
                      "Redis at " + step.endpoint.Address() +
                          " rejected DUMP: " + std::string(dump.str, dump.len));
      }
      if (dump.type != REDIS_REPLY_STRING || ttl.type != REDIS_REPLY_INTEGER || ttl.integer == -2) {
        continue;
      }
      ROLLBOOK_RETURN_IF_ERROR(writer->Add(keys[i], std::string_view(dump.str, dump.len),
                                           ttl.integer < 0 ? -1 : ttl.integer));
    }
    return clock.Check("after saving " + std::to_string(writer->count()) + " keys");
  });
  if (status.ok()) status = writer->Finish();
  if (!status.ok()) return Failed(status.WithContext("backup of " + step.Matching()));

  BackupRecord record;
  record.driver = "redis";
  record.origin = step.Origin();
  record.format = kFormat;
  record.rollback_id = context.rollback_id;
  record.component = context.component;
  record.step = context.step;
  Result<BackupRecord> stored = context.backups->PutFile(file->path(), std::move(record));
  if (!stored.ok()) return Failed(stored.status());

  spdlog::info("redis: backed up {} keys of {} as {} ({} bytes)", writer->count(), step.Origin(),
               stored->id, stored->size_bytes);
  result.summary = "backed up " + std::to_string(writer->count()) + " " + step.Matching() + " as " +
                   BackupLabel(*stored);
  result.backups.push_back(std::move(*stored));
  return {Status::Ok(), std::move(result)};
}

StepOutcome RedisDriver::Purge(const StepContext& context, const RedisStep& step) {
  ParamReader params(context);
  bool flushall = params.Boolean("flushall", false);
  if (!params.ok()) return Failed(params.status());
  if (flushall && !step.patterns.empty()) {
    return Failed(InvalidArgument(
        "redis purge got both `patterns` and `flushall: true`; FLUSHDB removes every key of the "
        "database, so give one of them"));
  }
  if (flushall) return FlushDb(context, step);
  if (Status status = RequirePatterns(step, "purge"); !status.ok()) return Failed(status);

  StepResult result;
  Result<RedisConnection> connection = RedisConnection::Connect(step.endpoint, context.timeout);
  if (!connection.ok()) return Failed(connection.status());
  StepClock clock(context);
  if (context.dry_run) {
    Result<uint64_t> count = CountMatchingKeys(*connection, step, clock);
    if (!count.ok()) return Failed(count.status());
    result.summary = "would UNLINK " + std::to_string(*count) + " " + step.Matching() +
                     " in batches of at most " + std::to_string(step.batch_size);
    return {Status::Ok(), std::move(result)};
  }

  // Each pattern's keys are unlinked batch by batch while SCAN goes on, which SCAN allows.
  int64_t removed = 0;
  Status status = Status::Ok();
  for (const std::string& pattern : step.patterns) {
    status = connection->Scan(pattern, step.batch_size, [&](const std::vector<std::string>& keys) {
      for (std::vector<std::string>& chunk : Chunks(keys, step.batch_size)) {
        chunk.insert(chunk.begin(), "UNLINK");
        Result<RedisReplyPtr> reply = connection->Command(chunk);
        if (!reply.ok()) return reply.status();
        removed += (*reply)->integer;
      }
      return clock.Check("after removing " + std::to_string(removed) + " keys");
    });
    if (!status.ok()) break;
  }

  std::string summary =
      "removed " + std::to_string(removed) + " " + step.Matching() + " with SCAN and UNLINK";
  spdlog::info("redis: {}", summary);
  result.summary = summary;
  result.changes.push_back(ChangeRecord{step.Origin(), "", "", summary});
  if (!status.ok()) {
    return Failed(status.WithContext("purge of " + step.Matching() + " stopped after removing " +
                                     std::to_string(removed) + " keys"),
                  std::move(result));
  }
  return {Status::Ok(), std::move(result)};
}

// FLUSHDB ASYNC frees the memory in the background, so the server does not stall.
StepOutcome RedisDriver::FlushDb(const StepContext& context, const RedisStep& step) {
  StepResult result;
  Result<RedisConnection> connection = RedisConnection::Connect(step.endpoint, context.timeout);
  if (!connection.ok()) return Failed(connection.status());
  Result<RedisReplyPtr> size = connection->Command({"DBSIZE"});
  if (!size.ok()) return Failed(size.status());
  int64_t keys = (*size)->integer;
  std::string where = "redis " + step.endpoint.Location();
  if (context.dry_run) {
    result.summary = "would FLUSHDB " + where + ", removing all " + std::to_string(keys) +
                     " keys (flushall: true)";
    return {Status::Ok(), std::move(result)};
  }

  Result<RedisReplyPtr> flushed = connection->Command({"FLUSHDB", "ASYNC"});
  if (!flushed.ok()) return Failed(flushed.status());
  std::string summary = "FLUSHDB removed all " + std::to_string(keys) + " keys of " + where +
                        " because the step sets flushall: true";
  spdlog::warn("redis: {} (rollback {}, step {}/{})", summary, context.rollback_id,
               context.component, context.step);
  result.summary = summary;
  result.changes.push_back(ChangeRecord{"redis:" + step.endpoint.Location(),
                                        std::to_string(keys) + " keys", "0 keys", summary});
  return {Status::Ok(), std::move(result)};
}

StepOutcome RedisDriver::Verify(const StepContext& context, const RedisStep& step) {
  StepResult result;
  ParamReader params(context);
  int64_t expected = params.Integer("expected_count", 0, 0, std::numeric_limits<int64_t>::max());
  if (!params.ok()) return Failed(params.status());
  if (Status status = RequirePatterns(step, "verify"); !status.ok()) return Failed(status);
  std::string check = "number of " + step.Matching();
  if (context.dry_run) {
    result.summary = "would check that the " + check + " is " + std::to_string(expected);
    return {Status::Ok(), std::move(result)};
  }

  Result<RedisConnection> connection = RedisConnection::Connect(step.endpoint, context.timeout);
  if (!connection.ok()) return Failed(connection.status());
  Result<uint64_t> count = CountMatchingKeys(*connection, step, StepClock(context));
  if (!count.ok()) return Failed(count.status());

  std::string actual = std::to_string(*count);
  bool passed = *count == static_cast<uint64_t>(expected);
  result.verification = VerificationRecord{check, std::to_string(expected), actual, passed};
  if (!passed) {
    result.summary = "verification failed: found " + actual + " " + step.Matching() +
                     ", expected " + std::to_string(expected);
    return {FailedPrecondition(result.summary), std::move(result)};
  }
  result.summary = "verified: " + actual + " " + step.Matching();
  return {Status::Ok(), std::move(result)};
}

// Finds the backup a restore step names, or the latest of the step's origin in this rollback.
Result<BackupRecord> ChosenBackup(const StepContext& context, const RedisStep& step) {
  if (context.catalog == nullptr) return Internal("the step has no backup catalog");
  ParamReader params(context);
  std::string id = params.String("backup_id", "");
  if (!params.ok()) return params.status();
  if (!id.empty()) return context.catalog->FindById(id);
  if (step.patterns.empty()) {
    return InvalidArgument(
        "redis restore needs `backup_id`, or the `patterns` of the backup step "
        "so the latest backup of those keys can be found");
  }
  Result<BackupRecord> latest =
      context.catalog->LatestInRollback(context.rollback_id, step.Origin());
  if (latest.ok() || latest.status().code() != StatusCode::kNotFound) return latest;
  return NotFound("no backup of " + step.Origin() + " was taken in rollback " +
                  context.rollback_id +
                  "; add a redis backup step with the same host, port, db and patterns before "
                  "this one, or give backup_id");
}

// Sends RESTORE key ttl payload REPLACE for each entry, batch by batch. The saved time to live
// is applied relative to now; a key saved with 0 ms left gets 1 ms, because 0 means no expiry.
Status RestoreEntries(RedisConnection& connection, const std::vector<RedisDumpEntry>& entries,
                      const RedisStep& step, const StepClock& clock, uint64_t& restored) {
  for (size_t start = 0; start < entries.size(); start += static_cast<size_t>(step.batch_size)) {
    size_t end = std::min(entries.size(), start + static_cast<size_t>(step.batch_size));
    std::vector<std::vector<std::string>> commands;
    for (size_t i = start; i < end; ++i) {
      int64_t ttl = entries[i].ttl_ms < 0 ? 0 : std::max<int64_t>(1, entries[i].ttl_ms);
      commands.push_back(
          {"RESTORE", entries[i].key, std::to_string(ttl), entries[i].payload, "REPLACE"});
    }
    Result<std::vector<RedisReplyPtr>> replies = connection.Pipeline(commands);
    if (!replies.ok()) return replies.status();
    for (size_t i = start; i < end; ++i) {
      const redisReply& reply = *(*replies)[i - start];
      if (reply.type == REDIS_REPLY_ERROR) {
        return InvalidArgument("Redis at " + step.endpoint.Address() +
                               " rejected RESTORE of key \"" + entries[i].key +
                               "\": " + std::string(reply.str, reply.len));
      }
      ++restored;
    }
    ROLLBOOK_RETURN_IF_ERROR(clock.Check("after restoring " + std::to_string(restored) + " keys"));
  }
  return Status::Ok();
}

StepOutcome RedisDriver::Restore(const StepContext& context, const RedisStep& step) {
  StepResult result;
  Result<BackupRecord> backup = ChosenBackup(context, step);
  if (AwaitsDryRunBackup(context, backup)) {
    result.summary = "would RESTORE the keys that this rollback's backup step saves from " +
                     step.Origin() + " into redis " + step.endpoint.Location();
    return {Status::Ok(), std::move(result)};
  }
  if (!backup.ok()) return Failed(backup.status());
  if (backup->format != kFormat) {
    return Failed(InvalidArgument("backup " + backup->id + " has format \"" + backup->format +
                                  "\", not " + kFormat + "; choose a redis backup"));
  }
  if (context.backups == nullptr) return Failed(Internal("the step has no backup store"));
  Result<std::string> bytes = context.backups->ReadChecked(*backup);
  if (!bytes.ok()) {
    return Failed(bytes.status().WithContext("refusing to restore " + backup->id + " into redis " +
                                             step.endpoint.Location()));
  }
  Result<std::vector<RedisDumpEntry>> entries = ParseRedisDump(*bytes);
  if (!entries.ok()) return Failed(entries.status().WithContext("backup " + backup->id));
  std::string restore_description = std::to_string(entries->size()) + " keys of " +
                                    BackupLabel(*backup) + " into redis " +
                                    step.endpoint.Location();
  if (context.dry_run) {
    result.summary = "would RESTORE " + restore_description;
    return {Status::Ok(), std::move(result)};
  }

  Result<RedisConnection> connection = RedisConnection::Connect(step.endpoint, context.timeout);
  if (!connection.ok()) return Failed(connection.status());
  uint64_t restored = 0;
  Status status = RestoreEntries(*connection, *entries, step, StepClock(context), restored);
  std::string summary = "restored " + std::to_string(restored) + " of " + restore_description;
  result.summary = summary;
  result.changes.push_back(ChangeRecord{"redis:" + step.endpoint.Location(), "",
                                        "keys of backup " + backup->id, summary});
  if (!status.ok()) return Failed(status, std::move(result));
  spdlog::info("redis: {}", summary);
  return {Status::Ok(), std::move(result)};
}

}  // namespace

std::unique_ptr<Driver> MakeRedisDriver() { return std::make_unique<RedisDriver>(); }

}  // namespace rollbook::commands
