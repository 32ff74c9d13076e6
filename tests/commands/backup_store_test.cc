// ctest-labels: unit
#include "commands/backup_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "tests/fixtures/temp_dir.h"

namespace rollbook::commands {
namespace {

namespace fs = std::filesystem;

class BackupStoreTest : public ::testing::Test {
 protected:
  std::string StorePath(const BackupRecord& record) const {
    return store_.root() + "/" + record.sha256.substr(0, 2) + "/" + record.sha256;
  }

  std::string WriteSource(const std::string& name, const std::string& bytes) {
    std::string path = dir_.Join(name);
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  static unsigned ModeOf(const std::string& path) {
    struct stat info {};
    EXPECT_EQ(::stat(path.c_str(), &info), 0) << path;
    return info.st_mode & 07777;
  }

  std::vector<std::string> FilesUnder(const std::string& root) const {
    std::vector<std::string> files;
    for (const auto& entry : fs::recursive_directory_iterator(root)) {
      if (entry.is_regular_file()) files.push_back(entry.path().filename().string());
    }
    return files;
  }

  BackupRecord Record(const std::string& origin) const {
    BackupRecord record;
    record.driver = "test";
    record.origin = origin;
    record.format = "file";
    return record;
  }

  testing::TempDir dir_;
  BackupStore store_{dir_.Join("store")};
};

TEST_F(BackupStoreTest, PutBytesFillsRecordAndStoresPrivately) {
  Result<BackupRecord> record = store_.PutBytes("hello backup", Record("greeting"));
  ASSERT_TRUE(record.ok()) << record.status().ToString();

  EXPECT_EQ(record->sha256, Sha256Hex("hello backup"));
  EXPECT_EQ(record->id, "bk-" + record->sha256.substr(0, 16));
  EXPECT_EQ(record->size_bytes, 12u);
  EXPECT_GT(record->taken_at_ns, 0);
  EXPECT_EQ(record->origin, "greeting");
  EXPECT_EQ(ModeOf(StorePath(*record)), 0600u);
  EXPECT_EQ(ModeOf(store_.root()), 0700u);
  EXPECT_EQ(ModeOf(fs::path(StorePath(*record)).parent_path().string()), 0700u);
}

TEST_F(BackupStoreTest, PutFileMatchesPutBytesOfSameContent) {
  std::string source = WriteSource("flags.json", "{\"flags\":{}}\n");
  Result<BackupRecord> from_file = store_.PutFile(source, Record(source));
  Result<BackupRecord> from_bytes = store_.PutBytes("{\"flags\":{}}\n", Record(source));
  ASSERT_TRUE(from_file.ok()) << from_file.status().ToString();
  ASSERT_TRUE(from_bytes.ok()) << from_bytes.status().ToString();

  EXPECT_EQ(from_file->id, from_bytes->id);
  EXPECT_EQ(FilesUnder(store_.root()).size(), 1u);
}

TEST_F(BackupStoreTest, ReadCheckedReturnsStoredBytes) {
  std::string bytes(200000, 'x');
  bytes[12345] = '\0';
  Result<BackupRecord> record = store_.PutBytes(bytes, Record("big"));
  ASSERT_TRUE(record.ok());

  Result<std::string> read = store_.ReadChecked(*record);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read, bytes);
  Result<std::string> path = store_.CheckedPath(*record);
  ASSERT_TRUE(path.ok());
  EXPECT_EQ(*path, StorePath(*record));
}

TEST_F(BackupStoreTest, DamagedBackupIsRejected) {
  Result<BackupRecord> record = store_.PutBytes("original content", Record("file"));
  ASSERT_TRUE(record.ok());
  std::ofstream(StorePath(*record), std::ios::binary) << "tampered content";

  Result<std::string> read = store_.ReadChecked(*record);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), StatusCode::kCorruption);
  EXPECT_NE(read.status().message().find(record->id), std::string::npos);
  Result<std::string> path = store_.CheckedPath(*record);
  ASSERT_FALSE(path.ok());
  EXPECT_EQ(path.status().code(), StatusCode::kCorruption);
}

TEST_F(BackupStoreTest, StoringAgainRepairsDamagedCopy) {
  Result<BackupRecord> record = store_.PutBytes("original content", Record("file"));
  ASSERT_TRUE(record.ok());
  std::ofstream(StorePath(*record), std::ios::binary) << "tampered";

  ASSERT_TRUE(store_.PutBytes("original content", Record("file")).ok());
  EXPECT_TRUE(store_.ReadChecked(*record).ok());
}

TEST_F(BackupStoreTest, MissingBackupIsNotFound) {
  Result<BackupRecord> record = store_.PutBytes("soon gone", Record("file"));
  ASSERT_TRUE(record.ok());
  fs::remove(StorePath(*record));

  Result<std::string> read = store_.ReadChecked(*record);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), StatusCode::kNotFound);
}

TEST_F(BackupStoreTest, MalformedHashIsRejectedBeforeTouchingDisk) {
  BackupRecord record = Record("file");
  record.id = "bk-evil";
  record.sha256 = "../../etc/passwd";

  Result<std::string> read = store_.ReadChecked(record);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(BackupStoreTest, MissingSourceLeavesNoTemporaryFile) {
  Result<BackupRecord> record = store_.PutFile(dir_.Join("absent.json"), Record("absent"));
  ASSERT_FALSE(record.ok());
  EXPECT_EQ(record.status().code(), StatusCode::kNotFound);
  if (fs::exists(store_.root())) {
    EXPECT_TRUE(FilesUnder(store_.root()).empty());
  }
}

TEST_F(BackupStoreTest, AtomicWriteKeepsExistingMode) {
  std::string path = WriteSource("config", "old");
  ASSERT_EQ(::chmod(path.c_str(), 0640), 0);

  ASSERT_TRUE(WriteFileAtomically(path, "new").ok());

  EXPECT_EQ(*ReadFileBytes(path), "new");
  EXPECT_EQ(ModeOf(path), 0640u);
  EXPECT_EQ(FilesUnder(dir_.path()).size(), 1u);
}

TEST_F(BackupStoreTest, AtomicWriteAppliesGivenMode) {
  std::string path = WriteSource("key", "old");
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);

  ASSERT_TRUE(WriteFileAtomically(path, "secret", 0600).ok());

  EXPECT_EQ(ModeOf(path), 0600u);
}

TEST_F(BackupStoreTest, AtomicWriteIntoMissingDirectoryFails) {
  Status status = WriteFileAtomically(dir_.Join("no/such/dir/file"), "bytes");
  EXPECT_EQ(status.code(), StatusCode::kIoError);
}

TEST(InMemoryBackupCatalogTest, FindsNewestByTimeAndRollback) {
  InMemoryBackupCatalog catalog;
  auto add = [&](std::string id, std::string origin, int64_t at, std::string rollback) {
    BackupRecord record;
    record.id = std::move(id);
    record.origin = std::move(origin);
    record.taken_at_ns = at;
    record.rollback_id = std::move(rollback);
    catalog.Add(record);
  };
  add("bk-1", "postgres:app", 100, "rb-1");
  add("bk-2", "postgres:app", 200, "rb-2");
  add("bk-3", "postgres:app", 300, "rb-2");
  add("bk-4", "/etc/flags.json", 250, "rb-2");

  EXPECT_EQ(catalog.NewestForOrigin("postgres:app", 250)->id, "bk-2");
  EXPECT_EQ(catalog.NewestForOrigin("postgres:app", 300)->id, "bk-3");
  EXPECT_EQ(catalog.NewestForOrigin("postgres:app", 99).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(catalog.LatestInRollback("rb-2", "postgres:app")->id, "bk-3");
  EXPECT_EQ(catalog.LatestInRollback("rb-1", "/etc/flags.json").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(catalog.FindById("bk-4")->origin, "/etc/flags.json");
  EXPECT_EQ(catalog.FindById("bk-9").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace rollbook::commands
