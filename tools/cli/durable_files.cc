#include "tools/cli/durable_files.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace rollbook::cli {
namespace {

namespace fs = std::filesystem;

Status ErrnoStatus(const std::string& what, int error) {
  StatusCode code = error == ENOENT   ? StatusCode::kNotFound
                    : error == EEXIST ? StatusCode::kAlreadyExists
                                      : StatusCode::kIoError;
  return Status(code, what + ": " + std::strerror(error));
}

Status SyncPath(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("cannot open " + path + " to fsync it", errno);
  int synced = ::fsync(fd);
  int error = errno;
  ::close(fd);
  if (synced != 0) return ErrnoStatus("cannot fsync " + path, error);
  return Status::Ok();
}

// Removes the temp file unless Release() was called.
class TempFile {
 public:
  explicit TempFile(std::string path) : path_(std::move(path)) {}
  ~TempFile() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }
  void Release() { path_.clear(); }

 private:
  std::string path_;
};

// Returns the permission bits a plain file created now would get: 0666 less the umask.
mode_t DefaultFileMode() {
  mode_t mask = ::umask(0);
  ::umask(mask);
  return 0666 & ~mask;
}

}  // namespace

std::string ParentDirectory(const std::string& path) {
  fs::path parent = fs::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

Status WriteFileAtomically(const std::string& path, bool replace,
                           const std::function<Status(std::ostream&)>& write) {
  std::error_code error;
  if (!replace && fs::exists(path, error)) {
    return Status(StatusCode::kAlreadyExists,
                  path + " already exists; choose another file name or remove it first");
  }

  // Phase 1: write and fsync a temp file in the target's directory, so the rename is atomic.
  std::string pattern = path + ".tmp-XXXXXX";
  int fd = ::mkstemp(pattern.data());
  if (fd < 0) return ErrnoStatus("cannot create a temp file beside " + path, errno);
  TempFile temp(pattern);
  ::fchmod(fd, DefaultFileMode());
  Status written;
  {
    std::ofstream out(temp.path(), std::ios::binary | std::ios::trunc);
    written = out ? write(out) : IoError("cannot open " + temp.path() + " for writing");
    if (written.ok()) {
      out.close();
      if (!out) written = IoError("cannot write " + temp.path() + ": the disk may be full");
    }
  }
  if (written.ok() && ::fsync(fd) != 0) written = ErrnoStatus("cannot fsync " + temp.path(), errno);
  ::close(fd);
  if (!written.ok()) return written;

  // Phase 2: move it into place and make the new name durable.
  if (replace) {
    if (::rename(temp.path().c_str(), path.c_str()) != 0) {
      return ErrnoStatus("cannot rename " + temp.path() + " to " + path, errno);
    }
  } else {
    ROLLBOOK_RETURN_IF_ERROR(RenameNoReplace(temp.path(), path));
  }
  temp.Release();
  return SyncDirectory(ParentDirectory(path));
}

Status SyncDirectoryTree(const std::string& directory) {
  std::error_code error;
  for (fs::recursive_directory_iterator it(directory, error), end; !error && it != end;
       it.increment(error)) {
    if (it->is_directory(error)) {
      ROLLBOOK_RETURN_IF_ERROR(SyncPath(it->path().string(), O_RDONLY | O_DIRECTORY));
    } else if (it->is_regular_file(error)) {
      ROLLBOOK_RETURN_IF_ERROR(SyncPath(it->path().string(), O_RDONLY));
    }
  }
  if (error) return IoError("cannot list " + directory + ": " + error.message());
  return SyncDirectory(directory);
}

Status SyncDirectory(const std::string& directory) {
  return SyncPath(directory, O_RDONLY | O_DIRECTORY);
}

Status RenameNoReplace(const std::string& from, const std::string& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) != 0) {
    int error = errno;
    if (error == EEXIST) {
      return Status(StatusCode::kAlreadyExists,
                    to + " already exists; choose another name or remove it first");
    }
    return ErrnoStatus("cannot rename " + from + " to " + to, error);
  }
  return Status::Ok();
}

}  // namespace rollbook::cli
