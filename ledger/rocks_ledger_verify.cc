// Chain verification: re-hash every event and check that the indexes agree with the log.
//
// One forward pass reads the events family and, beside it, the time index (whose order is
// position order, because recorded time never decreases).
//
// The stream index is in stream order, not position order, so checking it event by event takes
// one random lookup per event. A whole-log verify instead compares two multiset digests of the
// (stream key, position) pairs: one summed from the events in the forward pass, one from a
// sequential scan of the stream index on a second thread. Equal digests and counts mean the index
// has exactly one right entry per event. Only when they differ does verify fall back to the
// lookups, to name the first position whose entry is wrong.
#include <rocksdb/iterator.h>

#include <bit>
#include <cstring>
#include <random>
#include <thread>

#include "ledger/hash.h"
#include "ledger/keys.h"
#include "ledger/rocks_ledger.h"

namespace rollbook::ledger {
namespace {

uint64_t Mix64(uint64_t value) {
  value ^= value >> 30;
  value *= 0xbf58476d1ce4e5b9ULL;
  value ^= value >> 27;
  value *= 0x94d049bb133111ebULL;
  value ^= value >> 31;
  return value;
}

uint64_t SeededHash(std::string_view bytes, uint64_t seed) {
  uint64_t hash = Mix64(seed ^ bytes.size());
  size_t offset = 0;
  for (; offset + 8 <= bytes.size(); offset += 8) {
    uint64_t chunk;
    std::memcpy(&chunk, bytes.data() + offset, 8);
    hash = Mix64(hash ^ chunk) + std::rotl(hash, 23);
  }
  uint64_t tail = 0;
  std::memcpy(&tail, bytes.data() + offset, bytes.size() - offset);
  return Mix64(hash ^ tail);
}

// An order-independent digest of (stream index key, position key) pairs: the wrapping sums of two
// hashes of each pair, under seeds drawn afresh for every verify, so that no stored data can be
// shaped to collide. It detects corruption, not forgery: the hash chain is the proof of content.
class IndexDigest {
 public:
  IndexDigest(uint64_t seed_a, uint64_t seed_b) : seed_a_(seed_a), seed_b_(seed_b) {}

  void Add(std::string_view stream_key, std::string_view position_key) {
    uint64_t position = position_key.size() == 8 ? ReadBigEndian64(position_key) : ~uint64_t{0};
    sum_a_ += Mix64(SeededHash(stream_key, seed_a_) ^ Mix64(position + seed_a_));
    sum_b_ += Mix64(SeededHash(stream_key, seed_b_) ^ Mix64(position ^ seed_b_));
    ++count_;
  }

  bool operator==(const IndexDigest& other) const {
    return sum_a_ == other.sum_a_ && sum_b_ == other.sum_b_ && count_ == other.count_;
  }

 private:
  uint64_t seed_a_;
  uint64_t seed_b_;
  uint64_t sum_a_ = 0;
  uint64_t sum_b_ = 0;
  uint64_t count_ = 0;
};

// The digest of the whole stream index, computed on a thread of its own.
struct StreamIndexScan {
  IndexDigest digest;
  rocksdb::Status status;
};

VerifyReport Broken(VerifyReport report, uint64_t position, std::string problem) {
  report.intact = false;
  report.first_bad_position = position;
  report.problem = std::move(problem);
  return report;
}

std::string At(uint64_t position) { return "position " + std::to_string(position); }

}  // namespace

Result<VerifyReport> RocksLedger::Verify(const VerifyOptions& options) {
  if (options.from_position == 0) return InvalidArgument("verify starts at position 1 or later");

  // Every read goes through one snapshot, so appends during verify change nothing it reads: the
  // recorded head, the events up to it and their index entries are written in one batch.
  rocksdb::ManagedSnapshot snapshot(db_.get());
  rocksdb::ReadOptions read_options;
  read_options.fill_cache = false;
  read_options.snapshot = snapshot.snapshot();
  std::string head_value;
  rocksdb::Status head_read =
      db_->Get(read_options, families_[kMeta], std::string(kHeadKey), &head_value);
  if (!head_read.ok() && !head_read.IsNotFound()) {
    return IoError("verify cannot read the recorded head: " + head_read.ToString());
  }
  bool head_recorded = head_read.ok() && head_value.size() == 8 + kHashBytes;
  uint64_t head = head_recorded ? ReadBigEndian64(head_value) : 0;

  VerifyReport report;
  report.head_position = head;
  if (head == 0) {
    // An empty ledger has no entry in any family. Anything else lost its head, or its events.
    for (Family family : {kEvents, kStreams, kTime}) {
      std::unique_ptr<rocksdb::Iterator> any(db_->NewIterator(read_options, families_[family]));
      any->SeekToFirst();
      if (!any->status().ok()) return IoError("verify read failed: " + any->status().ToString());
      if (any->Valid()) {
        return Broken(report, 1,
                      std::string(family == kEvents ? "events" : "index entries") +
                          " are stored but the recorded head is missing");
      }
    }
    return report;
  }
  if (options.from_position > head) return report;

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

  // A whole-log verify checks the stream index by digest, scanned beside the chain.
  bool digest_streams = options.check_indexes && options.from_position == 1;
  std::random_device random;
  uint64_t seed_a = (uint64_t{random()} << 32) ^ random();
  uint64_t seed_b = (uint64_t{random()} << 32) ^ random();
  IndexDigest events_digest(seed_a, seed_b);
  StreamIndexScan scan{IndexDigest(seed_a, seed_b), rocksdb::Status::OK()};
  std::jthread scanner;  // declared after `scan`, so it is joined before `scan` goes away
  if (digest_streams) {
    scanner = std::jthread([this, &scan, read_options](std::stop_token stop) {
      std::unique_ptr<rocksdb::Iterator> entries(
          db_->NewIterator(read_options, families_[kStreams]));
      uint64_t scanned = 0;
      for (entries->SeekToFirst(); entries->Valid(); entries->Next()) {
        if (++scanned % 4096 == 0 && stop.stop_requested()) return;
        scan.digest.Add(std::string_view(entries->key().data(), entries->key().size()),
                        std::string_view(entries->value().data(), entries->value().size()));
      }
      scan.status = entries->status();
    });
  }

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
    Status decoded = DecodeStoredValue(
        position, std::string_view(it->value().data(), it->value().size()), &event);
    if (!decoded.ok()) return Broken(report, position, decoded.message());
    if (event.position != position) {
      return Broken(report, position,
                    "event body says " + At(event.position) + ": events were moved or swapped");
    }
    if (position == 1 && event.type != "ledgerInitialized") {
      return Broken(report, position,
                    "the first event is " + event.type +
                        ", not ledgerInitialized: the start of the log is missing");
    }
    if (event.previous_hash != expected_previous) {
      return Broken(report, position,
                    "previous hash does not match the hash of " + At(position - 1));
    }
    if (ChainHash(event.previous_hash, event.body) != event.hash) {
      return Broken(report, position, "content does not match its hash: the event was altered");
    }
    if (options.check_indexes) {
      if (digest_streams) {
        events_digest.Add(StreamKey(event.stream, event.stream_version),
                          std::string_view(it->key().data(), it->key().size()));
      } else if (std::string problem = CheckStreamEntry(event); !problem.empty()) {
        return Broken(report, position, problem);
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
    // Reported as head + 1: the stored key may be any 64-bit number, beyond what JSON readers
    // take exactly, so the message names it.
    std::string key = it->key().size() == 8
                          ? At(ReadBigEndian64(std::string_view(it->key().data(), 8)))
                          : "a malformed key";
    return Broken(report, head + 1,
                  "event stored beyond the recorded head " + std::to_string(head) + ", at " + key);
  }
  if (head_value.substr(8) != expected_previous) {
    return Broken(report, head, "recorded head hash differs from the last event's hash");
  }
  if (options.check_indexes && options.from_position == 1) {
    if (time_it->Valid()) {
      uint64_t extra = time_it->key().size() == 16
                           ? ReadBigEndian64(std::string_view(time_it->key().data() + 8, 8))
                           : head;
      return Broken(report, extra, "time index has an entry that matches no event");
    }
    scanner.join();
    if (!scan.status.ok()) return IoError("verify read failed: " + scan.status.ToString());
    if (events_digest == scan.digest) return report;
    return FindBadStreamEntry(report, read_options);
  }
  return report;
}

std::string RocksLedger::CheckStreamEntry(const RecordedEvent& event) {
  std::string index_value;
  rocksdb::Status found = db_->Get(rocksdb::ReadOptions(), families_[kStreams],
                                   StreamKey(event.stream, event.stream_version), &index_value);
  if (found.ok() && index_value == PositionKey(event.position)) return "";
  return "stream index entry for '" + event.stream + "' version " +
         std::to_string(event.stream_version) + " is missing or points elsewhere";
}

// The slow path after the digests differ: looks up every event's entry to name the first wrong
// one, and when all are right, looks for the extra entry.
Result<VerifyReport> RocksLedger::FindBadStreamEntry(VerifyReport report,
                                                     const rocksdb::ReadOptions& snapshot) {
  ReadOptions up_to_head;
  up_to_head.to_position = report.head_position;
  auto events = Read(up_to_head);
  if (!events.ok()) return events.status();
  for (; (*events)->Valid(); (*events)->Next()) {
    const RecordedEvent& event = (*events)->event();
    if (std::string problem = CheckStreamEntry(event); !problem.empty()) {
      report.events_checked = event.position - 1;
      return Broken(report, event.position, problem);
    }
  }
  ROLLBOOK_RETURN_IF_ERROR((*events)->status());
  return FindExtraStreamEntry(report, snapshot);
}

// Counts stream index entries; more entries than events means one names a wrong position.
Result<VerifyReport> RocksLedger::FindExtraStreamEntry(VerifyReport report,
                                                       const rocksdb::ReadOptions& snapshot) {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(snapshot, families_[kStreams]));
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
      // An entry that names no stored event is reported at the head, as a problem of the log.
      bool names_event = position >= 1 && position <= report.head_position;
      std::string named = value.size() == 8 ? At(position) : "a malformed position";
      return Broken(report, names_event ? position : report.head_position,
                    "stream index entry for '" + std::string(key.substr(0, separator)) +
                        "' names " + named + ", which is not that stream event");
    }
  }
  return Broken(report, report.head_position,
                "stream index has " + std::to_string(entries) + " entries for " +
                    std::to_string(report.head_position) + " events");
}

}  // namespace rollbook::ledger
