// RocksLedger: the RocksDB implementation of Ledger. Internal to ledger/; use ledger/ledger.h.
#pragma once

#include <rocksdb/db.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "ledger/event_codec.h"
#include "ledger/ledger.h"
#include "ledger/owner_lock.h"

namespace rollbook::ledger {

class RocksLedger final : public Ledger {
 public:
  static Result<std::unique_ptr<RocksLedger>> OpenDirectory(const Options& options, bool create);
  ~RocksLedger() override;

  Result<AppendResult> Append(const AppendRequest& request) override;
  Result<RecordedEvent> ReadEvent(uint64_t position) override;
  Result<std::unique_ptr<EventIterator>> Read(const ReadOptions& options) override;
  Result<uint64_t> StreamVersion(const std::string& stream) override;
  std::unique_ptr<Subscription> Subscribe(uint64_t after_position) override;
  bool WaitForPosition(uint64_t position, std::chrono::milliseconds timeout) override;
  uint64_t HeadPosition() const override { return committed_.load(std::memory_order_acquire); }
  Result<LedgerInfo> Info() override;
  Result<VerifyReport> Verify(const VerifyOptions& options) override;
  Status Checkpoint(const std::string& target) override;
  Status AppendVerbatim(const RecordedEvent& event) override;
  Status SetOwnerDetail(const std::string& key, const std::string& value) override;
  const std::string& directory() const override { return options_.directory; }

  // Column families, in the order they are opened.
  enum Family { kDefault = 0, kEvents, kStreams, kCommands, kTime, kMeta, kFamilyCount };

  rocksdb::DB* db() { return db_.get(); }
  rocksdb::ColumnFamilyHandle* family(Family f) { return families_[f]; }

  // Blocks until the committed head passes `position`, the deadline passes or `stop` is set.
  void WaitForCommitAfter(uint64_t position, std::chrono::steady_clock::time_point deadline,
                          const std::atomic<bool>& stop);
  void WakeWaiters();

 private:
  struct PendingAppend;
  struct BatchState;

  explicit RocksLedger(Options options) : options_(std::move(options)) {}
  Status OpenDatabase(bool create);
  Status LoadHead();
  void CloseDatabase();
  void FlushLargeMemtables();

  Status ValidateRequest(const AppendRequest& request) const;
  void RunLeader(std::unique_lock<std::mutex>& lock, PendingAppend* leader);
  void BuildBatch(const std::vector<PendingAppend*>& batch, BatchState& state);
  void BuildOne(PendingAppend& pending, BatchState& state);
  Result<uint64_t> CurrentStreamVersion(const std::string& stream, const BatchState& state);
  std::optional<AppendResult> FindCommand(const std::string& command_id, const BatchState& state);
  void PublishCommit(uint64_t position);
  // Verify's stream index checks: one event's entry ("" when right, else the problem), every
  // event's entry in turn, and entries that match no event.
  std::string CheckStreamEntry(const RecordedEvent& event);
  // `snapshot` is the read options of the verify's snapshot.
  Result<VerifyReport> FindBadStreamEntry(VerifyReport report,
                                          const rocksdb::ReadOptions& snapshot);
  Result<VerifyReport> FindExtraStreamEntry(VerifyReport report,
                                            const rocksdb::ReadOptions& snapshot);

  Options options_;
  std::unique_ptr<OwnerLock> owner_lock_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> families_;

  // Append queue. The writer at the front is the leader: it writes the whole queue as one batch.
  std::mutex queue_mutex_;
  std::deque<PendingAppend*> queue_;  // guarded by queue_mutex_
  Status write_error_;                // guarded by queue_mutex_; once set, appends fail

  // Leader-only state: touched only by the current leader, one at a time.
  uint64_t head_position_ = 0;
  std::string head_hash_;
  int64_t last_recorded_at_ns_ = 0;
  std::unordered_map<std::string, uint64_t> stream_versions_;

  // Commit publication for readers and subscribers.
  std::atomic<uint64_t> committed_{0};
  std::mutex commit_mutex_;
  std::condition_variable commit_changed_;
};

}  // namespace rollbook::ledger
