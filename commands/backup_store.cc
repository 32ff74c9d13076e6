#include "commands/backup_store.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>

namespace rollbook::commands {
namespace {

constexpr size_t kChunkBytes = 1 << 16;

std::string ErrnoText(int error) { return std::strerror(error); }

// Closes a file descriptor when it goes out of scope.
class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  void Reset(int fd) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }
  // Closes now and reports the error, because close() can report a failed write-back.
  int Close() {
    int result = ::close(fd_);
    fd_ = -1;
    return result;
  }

 private:
  int fd_;
};

// An incremental SHA-256 over OpenSSL's EVP interface.
class Sha256 {
 public:
  Sha256() : context_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    EVP_DigestInit_ex(context_.get(), EVP_sha256(), nullptr);
  }
  void Update(const void* data, size_t size) { EVP_DigestUpdate(context_.get(), data, size); }
  std::string FinishHex() {
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int length = 0;
    EVP_DigestFinal_ex(context_.get(), digest.data(), &length);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string hex;
    hex.reserve(length * 2);
    for (unsigned int i = 0; i < length; ++i) {
      hex.push_back(kHex[digest[i] >> 4]);
      hex.push_back(kHex[digest[i] & 0xf]);
    }
    return hex;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context_;
};

Status WriteAll(int fd, const char* data, size_t size, const std::string& path) {
  while (size > 0) {
    ssize_t written = ::write(fd, data, size);
    if (written < 0) {
      if (errno == EINTR) continue;
      return IoError("writing " + path + " failed: " + ErrnoText(errno));
    }
    data += written;
    size -= static_cast<size_t>(written);
  }
  return Status::Ok();
}

Status FsyncDirectory(const std::string& directory) {
  UniqueFd fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) {
    return IoError("opening directory " + directory + " for fsync failed: " + ErrnoText(errno));
  }
  if (::fsync(fd.get()) != 0) {
    return IoError("fsync of directory " + directory + " failed: " + ErrnoText(errno));
  }
  return Status::Ok();
}

// Creates `directory` and any missing parents with mode 0700.
Status MakePrivateDirectories(const std::filesystem::path& directory) {
  std::filesystem::path partial;
  for (const std::filesystem::path& part : directory) {
    partial /= part;
    if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) {
      return IoError("creating directory " + partial.string() + " failed: " + ErrnoText(errno));
    }
  }
  return Status::Ok();
}

std::string ParentDirectory(const std::string& path) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

bool IsSha256Hex(const std::string& text) {
  if (text.size() != 64) return false;
  for (char c : text) {
    bool digit = c >= '0' && c <= '9';
    bool lower_hex = c >= 'a' && c <= 'f';
    if (!digit && !lower_hex) return false;
  }
  return true;
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Calls `consume` with successive chunks of the file at `path`. Fails with kNotFound when the
// file does not exist, or with the first error `consume` returns.
Status ReadChunks(const std::string& path,
                  const std::function<Status(const char* data, size_t size)>& consume) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return NotFound(path + " does not exist");
    return IoError("opening " + path + " failed: " + ErrnoText(errno));
  }
  std::string buffer(kChunkBytes, '\0');
  while (true) {
    ssize_t count = ::read(fd.get(), buffer.data(), buffer.size());
    if (count < 0) {
      if (errno == EINTR) continue;
      return IoError("reading " + path + " failed: " + ErrnoText(errno));
    }
    if (count == 0) return Status::Ok();
    ROLLBOOK_RETURN_IF_ERROR(consume(buffer.data(), static_cast<size_t>(count)));
  }
}

// Hashes the file at `path`. Fails with kNotFound when it does not exist.
Result<std::string> HashFile(const std::string& path) {
  Sha256 hash;
  ROLLBOOK_RETURN_IF_ERROR(ReadChunks(path, [&hash](const char* data, size_t size) {
    hash.Update(data, size);
    return Status::Ok();
  }));
  return hash.FinishHex();
}

// A temporary file in the store root; removed unless Commit() moved it to its final name.
class StoreTempFile {
 public:
  explicit StoreTempFile(std::string root) : root_(std::move(root)) {}
  StoreTempFile(const StoreTempFile&) = delete;
  StoreTempFile& operator=(const StoreTempFile&) = delete;

  Status Open() {
    ROLLBOOK_RETURN_IF_ERROR(MakePrivateDirectories(root_));
    path_ = root_ + "/.incoming-XXXXXX";
    int fd = ::mkostemp(path_.data(), O_CLOEXEC);  // mkostemp creates the file with mode 0600
    if (fd < 0) {
      path_.clear();
      return IoError("creating a temporary file in backup store " + root_ +
                     " failed: " + ErrnoText(errno));
    }
    fd_.Reset(fd);
    return Status::Ok();
  }

  ~StoreTempFile() {
    if (!committed_ && !path_.empty()) ::unlink(path_.c_str());
  }

  Status Append(const char* data, size_t size) {
    hash_.Update(data, size);
    size_ += size;
    return WriteAll(fd_.get(), data, size, path_);
  }

  // Fsyncs the content and renames it to <root>/<two hex digits>/<sha256>. An existing copy
  // with the right content is kept; a damaged one is replaced.
  Result<std::pair<std::string, uint64_t>> Commit() {
    if (::fsync(fd_.get()) != 0) {
      return IoError("fsync of " + path_ + " failed: " + ErrnoText(errno));
    }
    if (fd_.Close() != 0) return IoError("closing " + path_ + " failed: " + ErrnoText(errno));

    std::string sha256 = hash_.FinishHex();
    std::string shard = root_ + "/" + sha256.substr(0, 2);
    std::string final_path = shard + "/" + sha256;
    Result<std::string> existing = HashFile(final_path);
    if (existing.ok() && *existing == sha256) return std::make_pair(sha256, size_);

    ROLLBOOK_RETURN_IF_ERROR(MakePrivateDirectories(shard));
    if (::rename(path_.c_str(), final_path.c_str()) != 0) {
      return IoError("renaming " + path_ + " to " + final_path + " failed: " + ErrnoText(errno));
    }
    committed_ = true;
    ROLLBOOK_RETURN_IF_ERROR(FsyncDirectory(shard));
    ROLLBOOK_RETURN_IF_ERROR(FsyncDirectory(root_));
    return std::make_pair(sha256, size_);
  }

 private:
  std::string root_;
  std::string path_;
  UniqueFd fd_;
  Sha256 hash_;
  uint64_t size_ = 0;
  bool committed_ = false;
};

void FillRecord(BackupRecord& record, const std::pair<std::string, uint64_t>& stored) {
  record.sha256 = stored.first;
  record.size_bytes = stored.second;
  record.id = "bk-" + stored.first.substr(0, 16);
  if (record.taken_at_ns == 0) record.taken_at_ns = NowNs();
}

}  // namespace

std::string Sha256Hex(std::string_view bytes) {
  Sha256 hash;
  hash.Update(bytes.data(), bytes.size());
  return hash.FinishHex();
}

Result<std::string> ReadFileBytes(const std::string& path) {
  std::string bytes;
  ROLLBOOK_RETURN_IF_ERROR(ReadChunks(path, [&bytes](const char* data, size_t size) {
    bytes.append(data, size);
    return Status::Ok();
  }));
  return bytes;
}

Status WriteFileAtomically(const std::string& path, std::string_view bytes,
                           std::optional<uint32_t> mode) {
  std::string directory = ParentDirectory(path);
  struct stat existing {};
  bool exists = ::stat(path.c_str(), &existing) == 0;
  mode_t new_mode = mode ? static_cast<mode_t>(*mode)
                         : (exists ? (existing.st_mode & 07777) : static_cast<mode_t>(0644));

  std::string temp_path =
      directory + "/." + std::filesystem::path(path).filename().string() + ".rollbook-XXXXXX";
  UniqueFd fd(::mkostemp(temp_path.data(), O_CLOEXEC));
  if (fd.get() < 0) {
    return IoError("creating a temporary file beside " + path + " failed: " + ErrnoText(errno));
  }
  bool renamed = false;
  struct RemoveUnlessRenamed {
    const std::string& temp;
    const bool& renamed;
    ~RemoveUnlessRenamed() {
      if (!renamed) ::unlink(temp.c_str());
    }
  } cleanup{temp_path, renamed};

  ROLLBOOK_RETURN_IF_ERROR(WriteAll(fd.get(), bytes.data(), bytes.size(), temp_path));
  if (::fchmod(fd.get(), new_mode) != 0) {
    return IoError("setting mode of " + temp_path + " failed: " + ErrnoText(errno));
  }
  if (exists) {
    // Keeping the owner needs the privilege to change it. Without that privilege the new file
    // belongs to this process's user and keeps the old mode bits.
    (void)::fchown(fd.get(), existing.st_uid, existing.st_gid);
  }
  if (::fsync(fd.get()) != 0) {
    return IoError("fsync of " + temp_path + " failed: " + ErrnoText(errno));
  }
  if (fd.Close() != 0) return IoError("closing " + temp_path + " failed: " + ErrnoText(errno));
  if (::rename(temp_path.c_str(), path.c_str()) != 0) {
    return IoError("renaming " + temp_path + " to " + path + " failed: " + ErrnoText(errno));
  }
  renamed = true;
  return FsyncDirectory(directory);
}

Result<BackupRecord> BackupStore::PutFile(const std::string& path, BackupRecord record) {
  StoreTempFile temp(root_);
  ROLLBOOK_RETURN_IF_ERROR(temp.Open());
  Status copied =
      ReadChunks(path, [&temp](const char* data, size_t size) { return temp.Append(data, size); });
  if (!copied.ok()) return copied.WithContext("cannot back up " + path);

  Result<std::pair<std::string, uint64_t>> stored = temp.Commit();
  if (!stored.ok()) return stored.status();
  FillRecord(record, *stored);
  return record;
}

Result<BackupRecord> BackupStore::PutBytes(const std::string& bytes, BackupRecord record) {
  StoreTempFile temp(root_);
  ROLLBOOK_RETURN_IF_ERROR(temp.Open());
  ROLLBOOK_RETURN_IF_ERROR(temp.Append(bytes.data(), bytes.size()));
  Result<std::pair<std::string, uint64_t>> stored = temp.Commit();
  if (!stored.ok()) return stored.status();
  FillRecord(record, *stored);
  return record;
}

namespace {

// Returns where a backup's bytes live, after checking that its digest cannot escape the store.
Result<std::string> StoredPath(const std::string& root, const BackupRecord& record) {
  if (!IsSha256Hex(record.sha256)) {
    return InvalidArgument("backup " + record.id + " has an invalid sha256 '" + record.sha256 +
                           "'; expected 64 lower-case hex digits");
  }
  return root + "/" + record.sha256.substr(0, 2) + "/" + record.sha256;
}

// Checks the digest of the stored copy of `record`, or reports why it could not be computed.
Status CheckDigest(const BackupRecord& record, const std::string& path,
                   const Result<std::string>& actual) {
  if (!actual.ok() && actual.status().code() == StatusCode::kNotFound) {
    return NotFound("backup " + record.id + " is missing from the backup store: " + path +
                    " does not exist");
  }
  if (!actual.ok()) return actual.status();
  if (*actual != record.sha256) {
    return Corruption("backup " + record.id + " at " + path + " fails its hash check: expected " +
                      "sha256 " + record.sha256 + ", found " + *actual +
                      "; the stored copy is damaged, so restore from another backup");
  }
  return Status::Ok();
}

}  // namespace

Result<std::string> BackupStore::CheckedPath(const BackupRecord& record) const {
  Result<std::string> path = StoredPath(root_, record);
  if (!path.ok()) return path.status();
  ROLLBOOK_RETURN_IF_ERROR(CheckDigest(record, *path, HashFile(*path)));
  return path;
}

Result<std::string> BackupStore::ReadChecked(const BackupRecord& record) const {
  Result<std::string> path = StoredPath(root_, record);
  if (!path.ok()) return path.status();
  Result<std::string> bytes = ReadFileBytes(*path);
  Result<std::string> actual = bytes.ok() ? Result<std::string>(Sha256Hex(*bytes)) : bytes.status();
  ROLLBOOK_RETURN_IF_ERROR(CheckDigest(record, *path, actual));
  return bytes;
}

Result<BackupRecord> InMemoryBackupCatalog::FindById(const std::string& id) {
  for (auto it = records_.rbegin(); it != records_.rend(); ++it) {
    if (it->id == id) return *it;
  }
  return NotFound("no backup with id " + id + " is recorded; list backups with `rollbook backups`");
}

Result<BackupRecord> InMemoryBackupCatalog::NewestForOrigin(const std::string& origin,
                                                            int64_t at_or_before_ns) {
  const BackupRecord* newest = nullptr;
  for (const BackupRecord& record : records_) {
    if (record.origin != origin || record.taken_at_ns > at_or_before_ns) continue;
    if (newest == nullptr || record.taken_at_ns >= newest->taken_at_ns) newest = &record;
  }
  if (newest == nullptr) {
    return NotFound("no backup of " + origin + " was taken at or before the requested time");
  }
  return *newest;
}

Result<BackupRecord> InMemoryBackupCatalog::LatestInRollback(const std::string& rollback_id,
                                                             const std::string& origin) {
  const BackupRecord* newest = nullptr;
  for (const BackupRecord& record : records_) {
    if (record.origin != origin || record.rollback_id != rollback_id) continue;
    if (newest == nullptr || record.taken_at_ns >= newest->taken_at_ns) newest = &record;
  }
  if (newest == nullptr) {
    return NotFound("no backup of " + origin + " was taken in rollback " + rollback_id);
  }
  return *newest;
}

}  // namespace rollbook::commands
