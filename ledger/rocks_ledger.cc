#include "ledger/rocks_ledger.h"

#include <openssl/rand.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>

#include "ledger/hash.h"
#include "ledger/keys.h"
#include "ledger/payload.h"

namespace rollbook::ledger {
namespace {

namespace fs = std::filesystem;

const char* const kFamilyNames[] = {"default", "events", "streams", "commands", "time", "meta"};

Status FromRocks(const rocksdb::Status& status, const std::string& what) {
  if (status.ok()) return Status::Ok();
  if (status.IsCorruption()) return Corruption(what + ": " + status.ToString());
  if (status.IsNotFound()) return NotFound(what + ": " + status.ToString());
  return IoError(what + ": " + status.ToString());
}

rocksdb::ColumnFamilyOptions FamilyOptions(bool point_lookups) {
  rocksdb::ColumnFamilyOptions options;
  if (point_lookups) {
    rocksdb::BlockBasedTableOptions table;
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  }
  return options;
}

int64_t SystemClockNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string RandomHexId() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) return "0";
  return ToHex(std::string(reinterpret_cast<char*>(bytes), sizeof(bytes)));
}

}  // namespace

Result<std::unique_ptr<Ledger>> Ledger::Create(const Options& options, const std::string& actor) {
  auto opened = RocksLedger::OpenDirectory(options, /*create=*/true);
  if (!opened.ok()) return opened.status();
  std::unique_ptr<RocksLedger> ledger = std::move(opened).value();

  char hostname[256] = {};
  ::gethostname(hostname, sizeof(hostname) - 1);
  std::string ledger_id = RandomHexId();
  AppendRequest request;
  request.stream = "ledger";
  request.expected = ExpectedVersion::NoStream();
  request.actor = actor;
  request.events.push_back(MakeEvent([&](schema::Payload::Builder payload) {
    auto initialized = payload.initLedgerInitialized();
    initialized.setLedgerId(ledger_id);
    initialized.setFormatVersion(kFormatVersion);
    initialized.setHostname(hostname);
  }));
  auto appended = ledger->Append(request);
  if (!appended.ok()) return appended.status().WithContext("cannot write the first event");
  spdlog::info("created ledger {} with id {}", options.directory, ledger_id);
  return std::unique_ptr<Ledger>(std::move(ledger));
}

Result<std::unique_ptr<Ledger>> Ledger::CreateForImport(const Options& options) {
  auto opened = RocksLedger::OpenDirectory(options, /*create=*/true);
  if (!opened.ok()) return opened.status();
  return std::unique_ptr<Ledger>(std::move(opened).value());
}

Result<std::unique_ptr<Ledger>> Ledger::Open(const Options& options) {
  auto opened = RocksLedger::OpenDirectory(options, /*create=*/false);
  if (!opened.ok()) return opened.status();
  return std::unique_ptr<Ledger>(std::move(opened).value());
}

Result<std::unique_ptr<RocksLedger>> RocksLedger::OpenDirectory(const Options& options,
                                                                bool create) {
  if (options.directory.empty()) {
    return InvalidArgument("no ledger directory given; pass --ledger DIR or set ROLLBOOK_LEDGER");
  }
  std::error_code error;
  bool has_database = fs::exists(fs::path(options.directory) / "CURRENT", error);
  if (create && has_database) {
    return Status(StatusCode::kAlreadyExists,
                  "a ledger already exists in " + options.directory +
                      "; choose another directory, it is never overwritten");
  }
  if (!create && !has_database) {
    return NotFound("no ledger in " + options.directory + "; create one with `rollbook init`");
  }
  if (create) {
    fs::create_directories(options.directory, error);
    if (error) return IoError("cannot create " + options.directory + ": " + error.message());
  }

  std::unique_ptr<RocksLedger> ledger(new RocksLedger(options));
  if (!ledger->options_.wall_clock_ns) ledger->options_.wall_clock_ns = SystemClockNs;
  if (!options.read_only) {
    auto lock = OwnerLock::Acquire(options.directory, options.owner);
    if (!lock.ok()) return lock.status();
    ledger->owner_lock_ = std::move(lock).value();
  }
  ROLLBOOK_RETURN_IF_ERROR(ledger->OpenDatabase(create));
  ROLLBOOK_RETURN_IF_ERROR(ledger->LoadHead());
  spdlog::debug("opened ledger {} at head {} ({}, {})", options.directory, ledger->head_position_,
                options.read_only ? "read-only" : "writer", options.sync ? "sync" : "no-sync");
  return ledger;
}

Status RocksLedger::OpenDatabase(bool create) {
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = create;
  db_options.create_missing_column_families = create;
  // Stop at the first torn WAL record: everything before it was acknowledged, nothing after was.
  db_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  db_options.max_background_jobs = 2;
  db_options.keep_log_file_num = 5;

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (int f = 0; f < kFamilyCount; ++f) {
    bool point_lookups = f == kStreams || f == kCommands;
    descriptors.emplace_back(kFamilyNames[f], FamilyOptions(point_lookups));
  }
  rocksdb::DB* raw = nullptr;
  rocksdb::Status status =
      options_.read_only
          ? rocksdb::DB::OpenForReadOnly(db_options, options_.directory, descriptors, &families_,
                                         &raw)
          : rocksdb::DB::Open(db_options, options_.directory, descriptors, &families_, &raw);
  if (!status.ok()) return FromRocks(status, "cannot open ledger " + options_.directory);
  db_.reset(raw);
  return Status::Ok();
}

Status RocksLedger::LoadHead() {
  std::string value;
  rocksdb::Status status =
      db_->Get(rocksdb::ReadOptions(), families_[kMeta], std::string(kHeadKey), &value);
  if (status.IsNotFound()) {
    head_position_ = 0;
    head_hash_ = GenesisHash();
  } else if (!status.ok()) {
    return FromRocks(status, "cannot read the ledger head");
  } else if (value.size() != 8 + kHashBytes) {
    return Corruption("ledger head record has " + std::to_string(value.size()) + " bytes, not 40");
  } else {
    head_position_ = ReadBigEndian64(value);
    head_hash_ = value.substr(8);
  }
  committed_.store(head_position_, std::memory_order_release);
  if (head_position_ > 0) {
    auto last = ReadEvent(head_position_);
    if (last.ok()) {
      last_recorded_at_ns_ = last->recorded_at_ns;
    } else {
      // Open anyway, so that `rollbook verify` can report the damage.
      spdlog::warn("ledger {}: cannot read the head event: {}", options_.directory,
                   last.status().ToString());
    }
  }
  return Status::Ok();
}

void RocksLedger::CloseDatabase() {
  if (!db_) return;
  if (!options_.read_only) FlushLargeMemtables();
  for (auto* handle : families_) {
    if (handle != nullptr) db_->DestroyColumnFamilyHandle(handle);
  }
  families_.clear();
  if (!options_.read_only) {
    rocksdb::Status status = db_->Close();
    if (!status.ok()) spdlog::warn("closing ledger {}: {}", options_.directory, status.ToString());
  }
  db_.reset();
}

// Every later open, including each read-only CLI command, replays the unflushed WAL into memory.
// Flushing at close keeps that replay short. Small memtables are left alone, so that a short
// command such as `rollbook note` does not leave a handful of tiny table files behind.
void RocksLedger::FlushLargeMemtables() {
  constexpr uint64_t kFlushAboveBytes = uint64_t{8} << 20;
  uint64_t memtable_bytes = 0;
  for (auto* handle : families_) {
    uint64_t bytes = 0;
    if (db_->GetIntProperty(handle, "rocksdb.cur-size-all-mem-tables", &bytes)) {
      memtable_bytes += bytes;
    }
  }
  if (memtable_bytes <= kFlushAboveBytes) return;
  rocksdb::Status flushed = db_->Flush(rocksdb::FlushOptions(), families_);
  if (!flushed.ok()) {
    spdlog::warn("ledger {}: flush at close failed, the next open replays the WAL: {}",
                 options_.directory, flushed.ToString());
  }
}

RocksLedger::~RocksLedger() {
  WakeWaiters();
  CloseDatabase();
  owner_lock_.reset();
}

Result<LedgerInfo> RocksLedger::Info() {
  LedgerInfo info;
  info.directory = options_.directory;
  info.head_position = HeadPosition();
  info.event_count = info.head_position;
  info.sync = options_.sync;
  info.read_only = options_.read_only;
  std::string value;
  if (db_->Get(rocksdb::ReadOptions(), families_[kMeta], std::string(kHeadKey), &value).ok() &&
      value.size() == 8 + kHashBytes) {
    info.head_hash = value.substr(8);
  }
  // The ledger id is part of the first event, so it is covered by the hash chain.
  if (info.head_position > 0) {
    auto first = ReadEvent(1);
    if (!first.ok()) return first.status();
    auto view = EventView::Decode(*first);
    if (view.ok() && view->payload().isLedgerInitialized()) {
      info.ledger_id = ToString(view->payload().getLedgerInitialized().getLedgerId());
    }
  }
  std::error_code error;
  for (const auto& entry : fs::recursive_directory_iterator(options_.directory, error)) {
    if (entry.is_regular_file(error)) info.size_on_disk_bytes += entry.file_size(error);
  }
  return info;
}

Status RocksLedger::Checkpoint(const std::string& target) {
  std::error_code error;
  if (fs::exists(target, error)) {
    return Status(StatusCode::kAlreadyExists,
                  "backup target " + target + " already exists; name a new directory");
  }
  rocksdb::Checkpoint* raw = nullptr;
  ROLLBOOK_RETURN_IF_ERROR(
      FromRocks(rocksdb::Checkpoint::Create(db_.get(), &raw), "cannot start a checkpoint"));
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  // Flush the WAL into the checkpoint so it holds every acknowledged event.
  ROLLBOOK_RETURN_IF_ERROR(FromRocks(checkpoint->CreateCheckpoint(target, /*log_size_for_flush=*/0),
                                     "cannot write checkpoint to " + target));
  spdlog::info("ledger {} backed up to {} at head {}", options_.directory, target, HeadPosition());
  return Status::Ok();
}

Status RocksLedger::SetOwnerDetail(const std::string& key, const std::string& value) {
  if (!owner_lock_) return FailedPrecondition("ledger is open read-only and has no owner file");
  return owner_lock_->Set(key, value);
}

void RocksLedger::PublishCommit(uint64_t position) {
  {
    std::lock_guard<std::mutex> lock(commit_mutex_);
    committed_.store(position, std::memory_order_release);
  }
  commit_changed_.notify_all();
}

void RocksLedger::WakeWaiters() {
  { std::lock_guard<std::mutex> lock(commit_mutex_); }
  commit_changed_.notify_all();
}

void RocksLedger::WaitForCommitAfter(uint64_t position,
                                     std::chrono::steady_clock::time_point deadline,
                                     const std::atomic<bool>& stop) {
  std::unique_lock<std::mutex> lock(commit_mutex_);
  commit_changed_.wait_until(lock, deadline, [&] {
    return stop.load(std::memory_order_acquire) ||
           committed_.load(std::memory_order_acquire) > position;
  });
}

bool RocksLedger::WaitForPosition(uint64_t position, std::chrono::milliseconds timeout) {
  std::atomic<bool> never{false};
  if (position == 0) return true;
  WaitForCommitAfter(position - 1, std::chrono::steady_clock::now() + timeout, never);
  return HeadPosition() >= position;
}

}  // namespace rollbook::ledger
