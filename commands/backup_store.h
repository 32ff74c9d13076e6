// The backup store: content-addressed files beside the ledger, and the catalogue of backups
// recorded in the ledger.
//
// A backup's bytes live at <root>/<first two hex digits>/<sha256>. A file is written to a
// temporary name, fsynced and renamed, so a crash never leaves a half-written backup under its
// final name. Every backup is recorded by a BackupCreated event; the store itself keeps no index.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/status.h"

namespace rollbook::commands {

struct BackupRecord {
  std::string id;      // "bk-" and the first 16 hex digits of sha256
  std::string sha256;  // hex
  uint64_t size_bytes = 0;
  std::string driver;
  std::string origin;  // what was backed up, such as a file path or "postgres:appdb"
  std::string format;  // such as "flagd-json", "pg_dump-custom", "redis-dump", "file"
  int64_t taken_at_ns = 0;
  std::string rollback_id;
  std::string component;
  std::string step;
};

class BackupStore {
 public:
  explicit BackupStore(std::string root) : root_(std::move(root)) {}

  // Copies the file at `path` into the store. Fills id, sha256 and size of `record`, and
  // taken_at_ns when it is 0, and returns it.
  Result<BackupRecord> PutFile(const std::string& path, BackupRecord record);
  Result<BackupRecord> PutBytes(const std::string& bytes, BackupRecord record);

  // Returns the stored file's path after checking its SHA-256 against the record.
  // Fails with kCorruption when the content does not match, kNotFound when it is missing.
  Result<std::string> CheckedPath(const BackupRecord& record) const;

  // Reads a backup's bytes after the same check.
  Result<std::string> ReadChecked(const BackupRecord& record) const;

  const std::string& root() const { return root_; }

 private:
  std::string root_;
};

// Looks up backups recorded in the ledger. The orchestrator implements it from BackupCreated
// events; tests may use InMemoryBackupCatalog.
class BackupCatalog {
 public:
  virtual ~BackupCatalog() = default;
  virtual Result<BackupRecord> FindById(const std::string& id) = 0;
  // Returns the newest backup of `origin` taken at or before `at_or_before_ns`.
  virtual Result<BackupRecord> NewestForOrigin(const std::string& origin,
                                               int64_t at_or_before_ns) = 0;
  // Returns the newest backup of `origin` taken in rollback `rollback_id`.
  virtual Result<BackupRecord> LatestInRollback(const std::string& rollback_id,
                                                const std::string& origin) = 0;
};

// A catalogue over a vector, for tests and for replays that collect records first.
class InMemoryBackupCatalog : public BackupCatalog {
 public:
  void Add(BackupRecord record) { records_.push_back(std::move(record)); }
  const std::vector<BackupRecord>& records() const { return records_; }

  Result<BackupRecord> FindById(const std::string& id) override;
  Result<BackupRecord> NewestForOrigin(const std::string& origin, int64_t at_or_before_ns) override;
  Result<BackupRecord> LatestInRollback(const std::string& rollback_id,
                                        const std::string& origin) override;

 private:
  std::vector<BackupRecord> records_;
};

// File helpers shared by the store and the drivers.

// Returns the lower-case hex SHA-256 digest of `bytes`.
std::string Sha256Hex(std::string_view bytes);

// Reads a whole file. Fails with kNotFound when it does not exist, kIoError otherwise.
Result<std::string> ReadFileBytes(const std::string& path);

// Replaces the file at `path` with `bytes` so that readers see the old or the new content, never
// a mix: a temporary file in the same directory is written, fsynced and renamed over `path`, and
// the directory is fsynced. The new file gets `mode`, or when `mode` is empty the existing file's
// mode (0644 for a new file). An existing file's owner and group are kept when the process may
// set them. On failure the original file is untouched and the temporary file is removed.
Status WriteFileAtomically(const std::string& path, std::string_view bytes,
                           std::optional<uint32_t> mode = std::nullopt);

}  // namespace rollbook::commands
