// Small helpers shared by the drivers that write and restore backups (postgres, redis).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "commands/backup_store.h"
#include "commands/driver.h"
#include "ledger/status.h"

namespace rollbook::commands {

// Returns "<id> (taken <time>, <size> bytes)" for messages and summaries.
std::string BackupLabel(const BackupRecord& backup);

// Returns true when `lookup`, a search for the latest backup taken in this rollback, found none
// because this is a dry run: the dry run's backup step stored nothing, so a restore step can only
// report what it would restore. Always false when the step names a backup_id.
bool AwaitsDryRunBackup(const StepContext& context, const Result<BackupRecord>& lookup);

// An empty file in the temporary directory, mode 0600, removed when the object goes away.
// Drivers write a backup here before BackupStore::PutFile copies it into the store.
class TempFile {
 public:
  static Result<TempFile> Create(std::string_view prefix);

  TempFile(TempFile&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  TempFile& operator=(TempFile&&) = delete;
  ~TempFile();

  const std::string& path() const { return path_; }

 private:
  explicit TempFile(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace rollbook::commands
