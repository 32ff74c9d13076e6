// The disk's durable-write rate, measured the way a write-ahead log uses the disk.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "tools/bench/dataset.h"

namespace rollbook::bench {

Result<FsyncResult> MeasureFsync(const std::string& directory, double seconds) {
  std::string path = directory + "/fsync-probe.log";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return IoError("cannot create " + path + ": " + std::strerror(errno));

  std::string record(512, 'r');
  std::vector<double> micros;
  Status status = Status::Ok();
  auto started = std::chrono::steady_clock::now();
  auto deadline = started + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    auto before = std::chrono::steady_clock::now();
    if (::write(fd, record.data(), record.size()) != static_cast<ssize_t>(record.size()) ||
        ::fdatasync(fd) != 0) {
      status = IoError("write or fdatasync on " + path + " failed: " + std::strerror(errno));
      break;
    }
    micros.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - before)
            .count());
  }
  ::close(fd);
  ::unlink(path.c_str());
  ROLLBOOK_RETURN_IF_ERROR(status);

  FsyncResult result;
  result.syncs = micros.size();
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  result.syncs_per_second = result.syncs / result.seconds;
  std::sort(micros.begin(), micros.end());
  if (!micros.empty()) result.p50_us = micros[micros.size() / 2];
  return result;
}

}  // namespace rollbook::bench
