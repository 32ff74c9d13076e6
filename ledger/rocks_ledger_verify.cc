// Chain verification: re-hash every event and check that the indexes agree with the log.
//
// One forward pass reads the events family and, beside it, the time index (whose order is
// position order, because recorded time never decreases). Stream index entries are looked up
// per event. Extra index entries are found by counting: when both indexes hold exactly one
// matching entry per event and no more, none is stale.
#include <rocksdb/iterator.h>

#include "ledger/hash.h"
#include "ledger/keys.h"
#include "ledger/rocks_ledger.h"

namespace rollbook::ledger {
namespace {

VerifyReport Broken(VerifyReport report, uint64_t position, std::string problem) {
  report.intact = false;
  report.first_bad_position = position;
  report.problem = std::move(problem);
  return report;
}

std::string At(uint64_t position) { return "position " + std::to_string(position); }

}  // namespace

Result<VerifyReport> RocksLedger::Verify(const VerifyOptions& options) {
  VerifyReport report;
  uint64_t head = HeadPosition();
  report.head_position = head;
  if (options.from_position == 0) return InvalidArgument("verify starts at position 1 or later");
  if (head == 0 || options.from_position > head) return report;

  // The hash to chain from: genesis, the given trusted hash, or the stored previous event's.
  std::string expected_previous = GenesisHash();
  if (options.from_position > 1) {
    if (!options.trusted_previous_hash.empty()) {
      expected_previous = options.trusted_previous_hash;
    } else {
      auto previous = ReadEvent(options.from_position - 1);
      if (!previous.ok()) return previous.status();
      expected_previous = previous->hash;
    }
  }

  rocksdb::ReadOptions read_options;
  read_options.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_options, families_[kEvents]));
  std::unique_ptr<rocksdb::Iterator> time_it(db_->NewIterator(read_options, families_[kTime]));
  uint64_t expected_position = options.from_position;
  RecordedEvent event;
  it->Seek(PositionKey(options.from_position));
  for (; it->Valid() && expected_position <= head; it->Next()) {
    if (it->key().size() != 8) return Broken(report, expected_position, "malformed event key");
    uint64_t position = ReadBigEndian64(std::string_view(it->key().data(), 8));
    if (position != expected_position) {
      return Broken(report, expected_position,
                    "event missing: the next stored event is at " + At(position));
    }
    Status decoded = DecodeStoredValue(position, std::string_view(it->value().data(), it->value().size()),
                                       &event);
    if (!decoded.ok()) return Broken(report, position, decoded.message());
    if (event.position != position) {
      return Broken(report, position,
                    "event body says " + At(event.position) + ": events were moved or swapped");
    }
    if (event.previous_hash != expected_previous) {
      return Broken(report, position, "previous hash does not match the hash of " + At(position - 1));
    }
    if (ChainHash(event.previous_hash, event.body) != event.hash) {
      return Broken(report, position, "content does not match its hash: the event was altered");
    }
    if (options.check_indexes) {
      std::string index_value;
      rocksdb::Status found = db_->Get(rocksdb::ReadOptions(), families_[kStreams],
                                       StreamKey(event.stream, event.stream_version), &index_value);
      if (!found.ok() || index_value != PositionKey(position)) {
        return Broken(report, position,
                      "stream index entry for '" + event.stream + "' version " +
                          std::to_string(event.stream_version) + " is missing or points elsewhere");
      }
      std::string time_key = TimeKey(event.recorded_at_ns, position);
      if (position == options.from_position) time_it->Seek(time_key);
      if (!time_it->Valid() || time_it->key() != time_key) {
        return Broken(report, position, "time index entry is missing or out of order");
      }
      time_it->Next();
    }
    expected_previous = event.hash;
    expected_position = position + 1;
    ++report.events_checked;
    if (options.progress && report.events_checked % 100000 == 0) {
      options.progress(report.events_checked, head);
    }
  }
  if (!it->status().ok()) return IoError("verify read failed: " + it->status().ToString());
  if (expected_position <= head) {
    return Broken(report, expected_position,
                  "event missing: the log ends before the recorded head " + std::to_string(head));
  }
  if (it->Valid()) {
    uint64_t extra = it->key().size() == 8 ? ReadBigEndian64(std::string_view(it->key().data(), 8)) : head + 1;
    return Broken(report, extra, "event stored beyond the recorded head " + std::to_string(head));
  }
  std::string head_value;
  if (db_->Get(rocksdb::ReadOptions(), families_[kMeta], std::string(kHeadKey), &head_value).ok() &&
      head_value.size() == 8 + kHashBytes && head_value.substr(8) != expected_previous) {
    return Broken(report, head, "recorded head hash differs from the last event's hash");
  }
  if (options.check_indexes && options.from_position == 1) {
    if (time_it->Valid()) {
      uint64_t extra = time_it->key().size() == 16
                           ? ReadBigEndian64(std::string_view(time_it->key().data() + 8, 8))
                           : head;
      return Broken(report, extra, "time index has an entry that matches no event");
    }
    return FindExtraStreamEntry(report);
  }
  return report;
}

// Counts stream index entries; more entries than events means one names a wrong position.
Result<VerifyReport> RocksLedger::FindExtraStreamEntry(VerifyReport report) {
  rocksdb::ReadOptions read_options;
  read_options.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_options, families_[kStreams]));
  uint64_t entries = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) ++entries;
  if (!it->status().ok()) return IoError("verify read failed: " + it->status().ToString());
  if (entries == report.head_position) return report;

  // Slow path, only for a broken index: find the entry whose event does not name it.
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string_view key(it->key().data(), it->key().size());
    std::string_view value(it->value().data(), it->value().size());
    uint64_t position = value.size() == 8 ? ReadBigEndian64(value) : 0;
    auto separator = key.find('\0');
    auto event = ReadEvent(position);
    bool matches = event.ok() && separator != std::string_view::npos &&
                   key.size() == separator + 9 && event->stream == key.substr(0, separator) &&
                   event->stream_version == ReadBigEndian64(key.substr(separator + 1));
    if (!matches) {
      return Broken(report, position,
                    "stream index entry for '" + std::string(key.substr(0, separator)) +
                        "' names " + At(position) + ", which is not that stream event");
    }
  }
  return Broken(report, report.head_position, "stream index has " + std::to_string(entries) +
                                                  " entries for " + std::to_string(report.head_position) + " events");
}

}  // namespace rollbook::ledger
