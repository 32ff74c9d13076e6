#include "projections/projection_store.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <mutex>

#include "ledger/keys.h"

namespace rollbook::projections {
namespace {

constexpr std::string_view kCheckpointKey = "@checkpoint";
constexpr std::string_view kFormatKey = "@format";
constexpr size_t kMemtableBudgetBytes = size_t{32} << 20;

// Projection state is small beside the ledger: small memtables, flushed early, keep the memory of
// a rebuild bounded.
rocksdb::ColumnFamilyOptions FamilyOptions() {
  rocksdb::ColumnFamilyOptions options;
  options.write_buffer_size = size_t{8} << 20;
  options.max_write_buffer_number = 2;
  return options;
}

rocksdb::Slice ToSlice(std::string_view text) { return rocksdb::Slice(text.data(), text.size()); }

std::string EncodeBigEndian32(uint32_t value) {
  std::string bytes(4, '\0');
  for (int i = 3; i >= 0; --i, value >>= 8) bytes[i] = static_cast<char>(value & 0xff);
  return bytes;
}

uint32_t DecodeBigEndian32(std::string_view bytes) {
  uint32_t value = 0;
  for (char byte : bytes.substr(0, 4)) value = (value << 8) | static_cast<unsigned char>(byte);
  return value;
}

Status FromRocks(const rocksdb::Status& status, const std::string& what) {
  if (status.ok()) return Status::Ok();
  if (status.IsCorruption()) return Corruption(what + ": " + status.ToString());
  // RocksDB reports a held LOCK file as an IO error mentioning the lock.
  if (status.IsIOError() && status.ToString().find("lock") != std::string::npos) {
    return Status(StatusCode::kBusy, what + ": another process has the projection store open (" +
                                         status.ToString() + "); stop `rollbook serve` first");
  }
  return IoError(what + ": " + status.ToString());
}

class BatchWriter final : public StateWriter {
 public:
  BatchWriter(rocksdb::WriteBatch* batch, rocksdb::ColumnFamilyHandle* family)
      : batch_(batch), family_(family) {}

  void Put(std::string_view key, std::string_view value) override {
    assert(key.empty() || key[0] != '@');
    batch_->Put(family_, ToSlice(key), ToSlice(value));
  }
  void Delete(std::string_view key) override {
    assert(key.empty() || key[0] != '@');
    batch_->Delete(family_, ToSlice(key));
  }

 private:
  rocksdb::WriteBatch* batch_;
  rocksdb::ColumnFamilyHandle* family_;
};

class SnapshotReader final : public StateReader {
 public:
  SnapshotReader(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* family, std::string name)
      : db_(db), family_(family), name_(std::move(name)), snapshot_(db->GetSnapshot()) {
    options_.snapshot = snapshot_;
    std::string value;
    if (db_->Get(options_, family_, ToSlice(kCheckpointKey), &value).ok() && value.size() == 8) {
      checkpoint_ = ledger::ReadBigEndian64(value);
    }
  }
  ~SnapshotReader() override { db_->ReleaseSnapshot(snapshot_); }

  Result<std::optional<std::string>> Get(std::string_view key) override {
    std::string value;
    rocksdb::Status status = db_->Get(options_, family_, ToSlice(key), &value);
    if (status.IsNotFound()) return std::optional<std::string>();
    if (!status.ok()) return FromRocks(status, "cannot read projection " + name_);
    return std::optional<std::string>(std::move(value));
  }

  Status Scan(std::string_view prefix, std::string_view start,
              const std::function<bool(std::string_view, std::string_view)>& visit) override {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options_, family_));
    std::string_view seek = start.empty() ? prefix : std::max(start, prefix);
    for (it->Seek(ToSlice(seek)); it->Valid(); it->Next()) {
      std::string_view key(it->key().data(), it->key().size());
      if (!key.starts_with(prefix)) break;
      if (!visit(key, std::string_view(it->value().data(), it->value().size()))) break;
    }
    return FromRocks(it->status(), "cannot scan projection " + name_);
  }

  uint64_t checkpoint() const override { return checkpoint_; }

 private:
  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* family_;
  std::string name_;
  const rocksdb::Snapshot* snapshot_;
  rocksdb::ReadOptions options_;
  uint64_t checkpoint_ = 0;
};

}  // namespace

struct ProjectionStore::Impl {
  std::unique_ptr<rocksdb::DB> db;
  std::mutex families_mutex;
  std::map<std::string, rocksdb::ColumnFamilyHandle*, std::less<>> families;  // guarded

  Result<rocksdb::ColumnFamilyHandle*> Family(std::string_view name) {
    std::lock_guard<std::mutex> lock(families_mutex);
    auto found = families.find(name);
    if (found == families.end()) {
      return NotFound("no projection named '" + std::string(name) + "' in the store");
    }
    return found->second;
  }

  ~Impl() {
    if (!db) return;
    for (auto& [name, handle] : families) db->DestroyColumnFamilyHandle(handle);
    rocksdb::Status status = db->Close();
    if (!status.ok()) spdlog::warn("closing the projection store: {}", status.ToString());
  }
};

ProjectionStore::ProjectionStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ProjectionStore::~ProjectionStore() = default;

Result<std::unique_ptr<ProjectionStore>> ProjectionStore::Open(
    const std::string& directory, const std::vector<std::string>& names) {
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error) return IoError("cannot create projection store " + directory + ": " + error.message());

  // Open every family that exists, including those of projections this version no longer has,
  // then create the missing ones.
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.max_background_jobs = 2;
  db_options.keep_log_file_num = 3;
  // All families together flush at this size. A rebuild writes every family at once, and with
  // RocksDB's default of 64 MiB per family and two memtables each, memtables alone would take
  // hundreds of MiB.
  db_options.db_write_buffer_size = kMemtableBudgetBytes;
  std::vector<std::string> existing;
  if (!rocksdb::DB::ListColumnFamilies(db_options, directory, &existing).ok()) {
    existing = {rocksdb::kDefaultColumnFamilyName};
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& family : existing) descriptors.emplace_back(family, FamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  ROLLBOOK_RETURN_IF_ERROR(
      FromRocks(rocksdb::DB::Open(db_options, directory, descriptors, &handles, &raw),
                "cannot open projection store " + directory));

  auto impl = std::make_unique<Impl>();
  impl->db.reset(raw);
  for (auto* handle : handles) impl->families[handle->GetName()] = handle;
  for (const auto& name : names) {
    if (impl->families.count(name) != 0) continue;
    rocksdb::ColumnFamilyHandle* handle = nullptr;
    ROLLBOOK_RETURN_IF_ERROR(FromRocks(impl->db->CreateColumnFamily(FamilyOptions(), name, &handle),
                                       "cannot create the column family of projection " + name));
    impl->families[name] = handle;
  }
  std::unique_ptr<ProjectionStore> store(new ProjectionStore(std::move(impl)));
  store->directory_ = directory;
  return store;
}

Result<StoredCheckpoint> ProjectionStore::ReadCheckpoint(std::string_view name) {
  auto family = impl_->Family(name);
  if (!family.ok()) return family.status();
  StoredCheckpoint stored;
  std::string value;
  rocksdb::Status status =
      impl_->db->Get(rocksdb::ReadOptions(), *family, ToSlice(kCheckpointKey), &value);
  if (status.IsNotFound()) return stored;
  ROLLBOOK_RETURN_IF_ERROR(
      FromRocks(status, "cannot read the checkpoint of projection " + std::string(name)));
  if (value.size() != 8) {
    return Corruption("checkpoint of projection " + std::string(name) + " has " +
                      std::to_string(value.size()) +
                      " bytes, not 8; run `rollbook replay --rebuild " + std::string(name) + "`");
  }
  stored.position = ledger::ReadBigEndian64(value);
  status = impl_->db->Get(rocksdb::ReadOptions(), *family, ToSlice(kFormatKey), &value);
  if (status.ok() && value.size() == 4) {
    stored.format_version = DecodeBigEndian32(value);
  }
  return stored;
}

Status ProjectionStore::Commit(std::string_view name,
                               const std::function<Status(StateWriter&)>& fill, uint64_t checkpoint,
                               uint32_t format_version) {
  auto family = impl_->Family(name);
  if (!family.ok()) return family.status();
  rocksdb::WriteBatch batch;
  BatchWriter writer(&batch, *family);
  ROLLBOOK_RETURN_IF_ERROR(fill(writer));

  std::string position;
  ledger::AppendBigEndian64(&position, checkpoint);
  batch.Put(*family, ToSlice(kCheckpointKey), position);
  batch.Put(*family, ToSlice(kFormatKey), EncodeBigEndian32(format_version));
  return FromRocks(impl_->db->Write(rocksdb::WriteOptions(), &batch),
                   "cannot commit projection " + std::string(name) + " at position " +
                       std::to_string(checkpoint));
}

Status ProjectionStore::Reset(std::string_view name) {
  auto family = impl_->Family(name);
  if (!family.ok()) return family.status();
  std::string key(name);
  ROLLBOOK_RETURN_IF_ERROR(FromRocks(impl_->db->DropColumnFamily(*family),
                                     "cannot drop the state of projection " + key));
  std::lock_guard<std::mutex> lock(impl_->families_mutex);
  impl_->db->DestroyColumnFamilyHandle(*family);
  impl_->families.erase(key);
  rocksdb::ColumnFamilyHandle* handle = nullptr;
  ROLLBOOK_RETURN_IF_ERROR(FromRocks(impl_->db->CreateColumnFamily(FamilyOptions(), key, &handle),
                                     "cannot create the column family of projection " + key));
  impl_->families[key] = handle;
  return Status::Ok();
}

Result<std::unique_ptr<StateReader>> ProjectionStore::NewReader(std::string_view name) {
  auto family = impl_->Family(name);
  if (!family.ok()) return family.status();
  return std::unique_ptr<StateReader>(
      std::make_unique<SnapshotReader>(impl_->db.get(), *family, std::string(name)));
}

}  // namespace rollbook::projections
