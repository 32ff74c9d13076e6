#include "ledger/owner_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "ledger/ledger.h"

namespace rollbook::ledger {

std::string OwnerFilePath(const std::string& directory) { return directory + "/OWNER"; }

std::vector<std::pair<std::string, std::string>> ReadOwnerDetails(const std::string& directory) {
  std::vector<std::pair<std::string, std::string>> details;
  std::ifstream file(OwnerFilePath(directory));
  std::string line;
  while (std::getline(file, line)) {
    auto equals = line.find('=');
    if (equals == std::string::npos) continue;
    details.emplace_back(line.substr(0, equals), line.substr(equals + 1));
  }
  return details;
}

std::vector<std::pair<std::string, std::string>> ReadLiveOwnerDetails(
    const std::string& directory) {
  auto details = ReadOwnerDetails(directory);
  for (const auto& [key, value] : details) {
    if (key != "pid") continue;
    pid_t pid = static_cast<pid_t>(std::strtol(value.c_str(), nullptr, 10));
    if (pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM)) return details;
  }
  return {};
}

Result<std::unique_ptr<OwnerLock>> OwnerLock::Acquire(const std::string& directory,
                                                      const std::string& owner) {
  std::string path = OwnerFilePath(directory);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return IoError("cannot open " + path + ": " + std::strerror(errno));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int error = errno;
    ::close(fd);
    if (error != EWOULDBLOCK) return IoError("cannot lock " + path + ": " + std::strerror(error));
    std::string who;
    for (const auto& [key, value] : ReadOwnerDetails(directory)) {
      if (key == "pid" || key == "owner" || key == "socket" || key == "http") {
        who += (who.empty() ? "" : ", ") + key + " " + value;
      }
    }
    return Status(StatusCode::kBusy, "ledger " + directory +
                                         " is open for writing by another process (" +
                                         (who.empty() ? "owner unknown" : who) +
                                         "); send commands to it, or open read-only");
  }
  std::unique_ptr<OwnerLock> lock(new OwnerLock(fd, path));
  auto now = std::chrono::system_clock::now().time_since_epoch();
  lock->details_ = {
      {"pid", std::to_string(::getpid())},
      {"owner", owner.empty() ? "rollbook" : owner},
      {"since_ns",
       std::to_string(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count())}};
  Status status = lock->Rewrite();
  if (!status.ok()) return status;
  return lock;
}

OwnerLock::~OwnerLock() {
  // Empty the file first, so nobody reads a departed owner's details after the lock is released.
  [[maybe_unused]] int ignored = ::ftruncate(fd_, 0);
  ::flock(fd_, LOCK_UN);
  ::close(fd_);
}

Status OwnerLock::Set(const std::string& key, const std::string& value) {
  for (auto& [existing_key, existing_value] : details_) {
    if (existing_key == key) {
      existing_value = value;
      return Rewrite();
    }
  }
  details_.emplace_back(key, value);
  return Rewrite();
}

Status OwnerLock::Rewrite() {
  std::string text;
  for (const auto& [key, value] : details_) text += key + "=" + value + "\n";
  if (::ftruncate(fd_, 0) != 0 ||
      ::pwrite(fd_, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
    return IoError("cannot write " + path_ + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

}  // namespace rollbook::ledger
