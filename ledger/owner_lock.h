// The single-writer lock of a ledger directory.
//
// The owner holds an exclusive flock(2) on <dir>/OWNER for as long as it has the ledger open
// and keeps key=value lines in that file (pid, owner, since, and later socket and http), so a
// second process can say who owns the ledger and where to send commands. The kernel releases
// the lock when the owner exits, also on kill -9, so a stale file never blocks a new owner.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "ledger/status.h"

namespace rollbook::ledger {

class OwnerLock {
 public:
  // Takes the lock or fails with kBusy naming the current owner's pid and description.
  static Result<std::unique_ptr<OwnerLock>> Acquire(const std::string& directory,
                                                    const std::string& owner);
  ~OwnerLock();
  OwnerLock(const OwnerLock&) = delete;
  OwnerLock& operator=(const OwnerLock&) = delete;

  // Sets one key=value line and rewrites the file in place.
  Status Set(const std::string& key, const std::string& value);

 private:
  OwnerLock(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  Status Rewrite();

  int fd_;
  std::string path_;
  std::vector<std::pair<std::string, std::string>> details_;
};

std::string OwnerFilePath(const std::string& directory);

}  // namespace rollbook::ledger
