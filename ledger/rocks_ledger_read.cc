// The read path: point reads, filtered iteration and subscriptions.
//
// Every reader is bounded by the committed head it saw when it started, and the head only moves
// after a whole batch is written, so a reader never sees a position before all earlier
// positions are readable.
#include <rocksdb/iterator.h>

#include <algorithm>
#include <deque>

#include "ledger/keys.h"
#include "ledger/rocks_ledger.h"

namespace rollbook::ledger {
namespace {

bool MatchesFilters(const ReadOptions& options, const RecordedEvent& event) {
  if (!options.stream.empty() && event.stream != options.stream) return false;
  if (options.since_ns != 0 && event.recorded_at_ns < options.since_ns) return false;
  if (options.until_ns != 0 && event.recorded_at_ns >= options.until_ns) return false;
  if (!options.actor.empty() && event.actor != options.actor) return false;
  if (!options.correlation_id.empty() && event.correlation_id != options.correlation_id) return false;
  if (!options.types.empty() &&
      std::find(options.types.begin(), options.types.end(), event.type) == options.types.end()) {
    return false;
  }
  return true;
}

// Walks one column family whose entries each name a position, and loads those events. Which
// family and how a key maps to a position depend on the filter: the events family itself for
// position ranges, the stream index for one stream, the time index for time ranges.
class IndexedIterator final : public EventIterator {
 public:
  enum class Source { kEvents, kStream, kTime };

  IndexedIterator(RocksLedger* ledger, ReadOptions options, uint64_t head, Source source)
      : ledger_(ledger), options_(std::move(options)), head_(head), source_(source) {
    rocksdb::ReadOptions read_options;
    read_options.fill_cache = source_ != Source::kEvents;  // long scans should not evict hot blocks
    RocksLedger::Family family = source_ == Source::kEvents   ? RocksLedger::kEvents
                                 : source_ == Source::kStream ? RocksLedger::kStreams
                                                              : RocksLedger::kTime;
    it_.reset(ledger_->db()->NewIterator(read_options, ledger_->family(family)));
    Seek();
    Advance(/*first=*/true);
  }

  bool Valid() const override { return valid_; }
  const RecordedEvent& event() const override { return event_; }
  void Next() override { Advance(/*first=*/false); }
  Status status() const override { return status_; }

 private:
  void Seek() {
    uint64_t to = std::min(options_.to_position, head_);
    switch (source_) {
      case Source::kEvents:
        if (options_.backward) {
          it_->SeekForPrev(PositionKey(to));
        } else {
          it_->Seek(PositionKey(options_.from_position));
        }
        break;
      case Source::kStream:
        prefix_ = StreamPrefix(options_.stream);
        if (options_.backward) {
          it_->SeekForPrev(StreamKey(options_.stream, kLastPosition));
        } else {
          it_->Seek(StreamKey(options_.stream, 1));
        }
        break;
      case Source::kTime:
        if (options_.backward) {
          uint64_t until = options_.until_ns == 0 ? kLastPosition
                                                  : static_cast<uint64_t>(options_.until_ns) - 1;
          std::string key;
          AppendBigEndian64(&key, until);
          AppendBigEndian64(&key, kLastPosition);
          it_->SeekForPrev(key);
        } else {
          it_->Seek(TimeKey(options_.since_ns, 0));
        }
        break;
    }
  }

  // Returns the position the current index entry names, or 0 when the scan is over.
  uint64_t CurrentPosition() {
    if (!it_->Valid()) return 0;
    rocksdb::Slice key = it_->key();
    switch (source_) {
      case Source::kEvents:
        return key.size() == 8 ? ReadBigEndian64(std::string_view(key.data(), 8)) : 0;
      case Source::kStream:
        if (!key.starts_with(prefix_) || key.size() != prefix_.size() + 8) return 0;
        return ReadBigEndian64(std::string_view(it_->value().data(), it_->value().size()));
      case Source::kTime:
        return key.size() == 16 ? ReadBigEndian64(std::string_view(key.data() + 8, 8)) : 0;
    }
    return 0;
  }

  void Advance(bool first) {
    valid_ = false;
    if (!status_.ok() || returned_ >= options_.limit) return;
    if (!first) Step();
    while (it_->Valid()) {
      uint64_t position = CurrentPosition();
      if (position == 0) break;
      bool in_range = position >= options_.from_position && position <= options_.to_position &&
                      position <= head_;
      if (!in_range) {
        // Index order is position order for events and streams, so out of range ends the scan
        // in the scan's direction; the time index may hold positions in any order.
        bool past_end = options_.backward ? position < options_.from_position
                                          : position > std::min(options_.to_position, head_);
        if (source_ != Source::kTime && past_end) break;
        Step();
        continue;
      }
      if (!Load(position)) return;
      if (MatchesFilters(options_, event_)) {
        ++returned_;
        valid_ = true;
        return;
      }
      if (source_ == Source::kTime && TimePastEnd()) break;
      Step();
    }
    if (!it_->status().ok()) status_ = IoError("ledger read failed: " + it_->status().ToString());
  }

  bool TimePastEnd() const {
    if (options_.backward) return options_.since_ns != 0 && event_.recorded_at_ns < options_.since_ns;
    return options_.until_ns != 0 && event_.recorded_at_ns >= options_.until_ns;
  }

  void Step() {
    if (options_.backward) {
      it_->Prev();
    } else {
      it_->Next();
    }
  }

  bool Load(uint64_t position) {
    event_ = RecordedEvent();
    if (source_ == Source::kEvents) {
      status_ = DecodeStoredValue(position, std::string_view(it_->value().data(), it_->value().size()),
                                  &event_);
    } else {
      auto loaded = ledger_->ReadEvent(position);
      if (loaded.ok()) {
        event_ = std::move(loaded).value();
      } else {
        status_ = loaded.status();
      }
    }
    return status_.ok();
  }

  RocksLedger* ledger_;
  ReadOptions options_;
  uint64_t head_;
  Source source_;
  std::string prefix_;
  std::unique_ptr<rocksdb::Iterator> it_;
  RecordedEvent event_;
  bool valid_ = false;
  size_t returned_ = 0;
  Status status_;
};

class LedgerSubscription final : public Subscription {
 public:
  LedgerSubscription(RocksLedger* ledger, uint64_t after) : ledger_(ledger), position_(after) {}

  Result<std::optional<RecordedEvent>> Next(std::chrono::milliseconds timeout) override {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!closed_.load(std::memory_order_acquire)) {
      if (!buffer_.empty()) {
        RecordedEvent event = std::move(buffer_.front());
        buffer_.pop_front();
        position_ = event.position;
        return std::optional<RecordedEvent>(std::move(event));
      }
      if (ledger_->HeadPosition() > position_) {
        ROLLBOOK_RETURN_IF_ERROR(Fill());
        continue;
      }
      if (std::chrono::steady_clock::now() >= deadline) break;
      ledger_->WaitForCommitAfter(position_, deadline, closed_);
    }
    return std::optional<RecordedEvent>();
  }

  void Close() override {
    closed_.store(true, std::memory_order_release);
    ledger_->WakeWaiters();
  }

  uint64_t position() const override { return position_; }

 private:
  // Reads the next committed events in one pass; a batch bounds memory for a slow subscriber.
  Status Fill() {
    ReadOptions options;
    options.from_position = position_ + 1;
    options.limit = 512;
    auto it = ledger_->Read(options);
    if (!it.ok()) return it.status();
    for (; (*it)->Valid(); (*it)->Next()) buffer_.push_back((*it)->event());
    return (*it)->status();
  }

  RocksLedger* ledger_;
  uint64_t position_;
  std::deque<RecordedEvent> buffer_;
  std::atomic<bool> closed_{false};
};

}  // namespace

Result<RecordedEvent> RocksLedger::ReadEvent(uint64_t position) {
  if (position == 0 || position > HeadPosition()) {
    return NotFound("no event at position " + std::to_string(position) + "; the head is " +
                    std::to_string(HeadPosition()));
  }
  std::string value;
  rocksdb::Status status =
      db_->Get(rocksdb::ReadOptions(), families_[kEvents], PositionKey(position), &value);
  if (status.IsNotFound()) {
    return Corruption("event at position " + std::to_string(position) +
                      " is missing below the head; run `rollbook verify`");
  }
  if (!status.ok()) return IoError("cannot read position " + std::to_string(position) + ": " + status.ToString());
  RecordedEvent event;
  ROLLBOOK_RETURN_IF_ERROR(DecodeStoredValue(position, value, &event));
  return event;
}

Result<std::unique_ptr<EventIterator>> RocksLedger::Read(const ReadOptions& options) {
  using Source = IndexedIterator::Source;
  Source source = Source::kEvents;
  if (!options.stream.empty()) {
    source = Source::kStream;
  } else if (options.since_ns != 0 || options.until_ns != 0) {
    source = Source::kTime;
  }
  return std::unique_ptr<EventIterator>(
      std::make_unique<IndexedIterator>(this, options, HeadPosition(), source));
}

std::unique_ptr<Subscription> RocksLedger::Subscribe(uint64_t after_position) {
  return std::make_unique<LedgerSubscription>(this, after_position);
}

}  // namespace rollbook::ledger
