// Raw RocksDB: the storage engine under the ledger, writing the same payload bytes with nothing
// on top (one key per event, no stream index, no hash chain, no envelope encoding).
//
// The "rocksdb-indexed" variant also writes the two index entries per event that the ledger's
// key layout has (stream id and version -> position, time and position -> empty), still without
// encoding or hashing, to show what the layout alone costs. It only appends: its reads fail.
#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "ledger/keys.h"
#include "tools/bench/stores.h"

namespace rollbook::bench {
namespace {

constexpr auto kCatchUpWait = std::chrono::milliseconds(100);
constexpr auto kPollInterval = std::chrono::milliseconds(1);
constexpr size_t kCatchUpMaxEvents = 512;

Status FromRocks(const rocksdb::Status& status, const std::string& what) {
  if (status.ok()) return Status::Ok();
  return IoError(what + ": " + status.ToString());
}

class RocksSession final : public Session {
 public:
  RocksSession(rocksdb::DB& db, std::atomic<uint64_t>& sequence, bool sync,
               const std::vector<rocksdb::ColumnFamilyHandle*>& index_families)
      : db_(db),
        sequence_(sequence),
        indexed_(!index_families.empty()),
        index_families_(index_families) {
    write_options_.sync = sync;
  }

  Status Append(const std::string& stream,
                const std::vector<const ledger::NewEvent*>& events) override {
    uint64_t first = sequence_.fetch_add(events.size()) + 1;
    if (indexed_) return AppendIndexed(stream, events, first);
    if (events.size() == 1) {
      return FromRocks(db_.Put(write_options_, ledger::PositionKey(first), events[0]->payload),
                       "put");
    }
    rocksdb::WriteBatch batch;
    for (size_t i = 0; i < events.size(); ++i) {
      batch.Put(ledger::PositionKey(first + i), events[i]->payload);
    }
    return FromRocks(db_.Write(write_options_, &batch), "write batch");
  }

  Result<size_t> ReadNewest(size_t count) override {
    if (indexed_)
      return FailedPrecondition("rocksdb-indexed only appends; run it with --no-reader");
    std::unique_ptr<rocksdb::Iterator> it(db_.NewIterator(rocksdb::ReadOptions()));
    size_t read = 0;
    for (it->SeekToLast(); it->Valid() && read < count; it->Prev()) {
      checksum_ += it->value().size();
      ++read;
    }
    ROLLBOOK_RETURN_IF_ERROR(FromRocks(it->status(), "read newest"));
    return read;
  }

  Result<uint64_t> LastPosition() override { return sequence_.load(); }

  // Writes the event to the default column family and the index entries to the "streams" and
  // "time" families, as the ledger lays them out.
  Status AppendIndexed(const std::string& stream,
                       const std::vector<const ledger::NewEvent*>& events, uint64_t first) {
    rocksdb::WriteBatch batch;
    int64_t now = std::chrono::system_clock::now().time_since_epoch().count();
    for (size_t i = 0; i < events.size(); ++i) {
      std::string position = ledger::PositionKey(first + i);
      batch.Put(position, events[i]->payload);
      batch.Put(index_families_[0], ledger::StreamKey(stream, first + i), position);
      batch.Put(index_families_[1], ledger::TimeKey(now, first + i), rocksdb::Slice());
    }
    return FromRocks(db_.Write(write_options_, &batch), "write batch");
  }

  // Polls for keys after `after`, as a tailing reader of a plain key-value store must.
  Result<uint64_t> CatchUp(uint64_t after) override {
    if (indexed_)
      return FailedPrecondition("rocksdb-indexed only appends; run it with --no-subscriber");
    auto deadline = std::chrono::steady_clock::now() + kCatchUpWait;
    for (;;) {
      std::unique_ptr<rocksdb::Iterator> it(db_.NewIterator(rocksdb::ReadOptions()));
      uint64_t last = after;
      size_t read = 0;
      for (it->Seek(ledger::PositionKey(after + 1)); it->Valid() && read < kCatchUpMaxEvents;
           it->Next()) {
        last = ledger::ReadBigEndian64(std::string_view(it->key().data(), it->key().size()));
        checksum_ += it->value().size();
        ++read;
      }
      ROLLBOOK_RETURN_IF_ERROR(FromRocks(it->status(), "catch up"));
      if (read > 0 || std::chrono::steady_clock::now() >= deadline) return last;
      std::this_thread::sleep_for(kPollInterval);
    }
  }

 private:
  rocksdb::DB& db_;
  std::atomic<uint64_t>& sequence_;
  bool indexed_;
  std::vector<rocksdb::ColumnFamilyHandle*> index_families_;  // streams, time; owned by the store
  rocksdb::WriteOptions write_options_;
  uint64_t checksum_ = 0;  // keeps the reads from being optimized away
};

class RocksStore final : public Store {
 public:
  RocksStore(std::unique_ptr<rocksdb::DB> db, std::vector<rocksdb::ColumnFamilyHandle*> handles,
             uint64_t last, bool sync)
      : db_(std::move(db)), handles_(std::move(handles)), sequence_(last), sync_(sync) {
    // handles_ is {default, streams, time} when indexed, and {default} otherwise.
    index_families_.assign(handles_.begin() + 1, handles_.end());
  }
  ~RocksStore() override {
    for (auto* handle : handles_) db_->DestroyColumnFamilyHandle(handle);
  }

  Result<std::unique_ptr<Session>> NewSession() override {
    return std::unique_ptr<Session>(
        std::make_unique<RocksSession>(*db_, sequence_, sync_, index_families_));
  }
  std::string name() const override {
    return index_families_.empty() ? "rocksdb" : "rocksdb-indexed";
  }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::vector<rocksdb::ColumnFamilyHandle*> index_families_;
  std::atomic<uint64_t> sequence_;
  bool sync_;
};

}  // namespace

Result<std::unique_ptr<Store>> OpenRocksStore(const StoreOptions& options) {
  // The same database options as the ledger's, so that only the work per event differs.
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = !options.reuse;
  db_options.error_if_exists = !options.reuse;
  db_options.create_missing_column_families = true;
  db_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  db_options.max_background_jobs = 2;
  db_options.keep_log_file_num = 5;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()}};
  if (options.system == "rocksdb-indexed") {
    descriptors.emplace_back("streams", rocksdb::ColumnFamilyOptions());
    descriptors.emplace_back("time", rocksdb::ColumnFamilyOptions());
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  ROLLBOOK_RETURN_IF_ERROR(
      FromRocks(rocksdb::DB::Open(db_options, options.directory, descriptors, &handles, &raw),
                "open " + options.directory));
  std::unique_ptr<rocksdb::DB> db(raw);

  uint64_t last = 0;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
  it->SeekToLast();
  if (it->Valid() && it->key().size() == 8) {
    last = ledger::ReadBigEndian64(std::string_view(it->key().data(), 8));
  }
  it.reset();
  return std::unique_ptr<Store>(
      std::make_unique<RocksStore>(std::move(db), std::move(handles), last, options.sync));
}

}  // namespace rollbook::bench
