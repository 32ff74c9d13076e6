#include "commands/drivers/backup_support.h"

#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "commands/drivers/drivers.h"
#include "ledger/time_format.h"

namespace rollbook::commands {

std::string BackupLabel(const BackupRecord& backup) {
  return backup.id + " (taken " + ledger::FormatTimestamp(backup.taken_at_ns) + ", " +
         std::to_string(backup.size_bytes) + " bytes)";
}

bool AwaitsDryRunBackup(const StepContext& context, const Result<BackupRecord>& lookup) {
  return context.dry_run && !lookup.ok() && lookup.status().code() == StatusCode::kNotFound &&
         !ParamReader(context).Has("backup_id");
}

Result<TempFile> TempFile::Create(std::string_view prefix) {
  std::error_code error;
  std::filesystem::path dir = std::filesystem::temp_directory_path(error);
  if (error) dir = "/tmp";
  std::string pattern = (dir / (std::string(prefix) + "-XXXXXX")).string();
  int fd = mkstemp(pattern.data());
  if (fd < 0) {
    return IoError("cannot create a temporary file like " + pattern + ": " + std::strerror(errno));
  }
  close(fd);
  return TempFile(pattern);
}

TempFile::~TempFile() {
  if (!path_.empty()) unlink(path_.c_str());
}

}  // namespace rollbook::commands
