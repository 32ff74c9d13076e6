// Reading a filled ledger: replay, raw iteration, export, stream reads and projection rebuilds.
#include <rocksdb/db.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <vector>

#include "ledger/ledger.h"
#include "projections/rollback_state.h"
#include "projections/runner.h"
#include "tools/bench/dataset.h"

namespace rollbook::bench {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point started) {
  return std::chrono::duration<double>(Clock::now() - started).count();
}

Result<std::unique_ptr<ledger::Ledger>> OpenReadOnly(const std::string& directory) {
  ledger::Options options;
  options.directory = directory;
  options.read_only = true;
  return ledger::Ledger::Open(options);
}

// The ledger's RocksDB database opened read-only with plain RocksDB calls, with all its column
// families, for scanning the "events" family without the ledger's decoding.
class RawEvents {
 public:
  ~RawEvents() {
    for (auto* handle : handles_) db_->DestroyColumnFamilyHandle(handle);
  }

  static Result<std::unique_ptr<RawEvents>> Open(const std::string& directory) {
    std::vector<std::string> names;
    rocksdb::Status listed =
        rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), directory, &names);
    if (!listed.ok()) {
      return IoError("cannot list column families of " + directory + ": " + listed.ToString());
    }
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const std::string& name : names)
      descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
    std::unique_ptr<RawEvents> raw_events(new RawEvents());
    rocksdb::DB* raw = nullptr;
    rocksdb::Status opened = rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), directory,
                                                          descriptors, &raw_events->handles_, &raw);
    if (!opened.ok()) return IoError("cannot open " + directory + ": " + opened.ToString());
    raw_events->db_.reset(raw);
    auto events = std::find(names.begin(), names.end(), "events");
    if (events == names.end()) {
      return NotFound(directory + " has no events column family; is it a rollbook ledger?");
    }
    raw_events->events_ = raw_events->handles_[events - names.begin()];
    return raw_events;
  }

  // Calls `visit` for each stored event in position order.
  template <typename Visit>
  Status ForEach(Visit&& visit) {
    // The same read options as the ledger's full scans: long scans do not fill the block cache.
    rocksdb::ReadOptions read_options;
    read_options.fill_cache = false;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_options, events_));
    for (it->SeekToFirst(); it->Valid(); it->Next()) visit(it->key(), it->value());
    if (!it->status().ok()) return IoError("scan failed: " + it->status().ToString());
    return Status::Ok();
  }

 private:
  RawEvents() = default;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::ColumnFamilyHandle* events_ = nullptr;
};

}  // namespace

Result<ScanResult> ReplayWithFold(const std::string& directory) {
  auto ledger = OpenReadOnly(directory);
  if (!ledger.ok()) return ledger.status();
  ScanResult result;
  auto started = Clock::now();
  projections::RollbackFold fold;
  auto it = (*ledger)->Read({});
  if (!it.ok()) return it.status();
  for (; (*it)->Valid(); (*it)->Next()) {
    const ledger::RecordedEvent& event = (*it)->event();
    fold.Apply(event);
    ++result.events;
    result.bytes += event.body.size() + event.hash.size();
  }
  ROLLBOOK_RETURN_IF_ERROR((*it)->status());
  result.seconds = SecondsSince(started);
  result.rollbacks = fold.rollbacks().size();
  return result;
}

Result<ScanResult> IterateRaw(const std::string& directory) {
  auto raw = RawEvents::Open(directory);
  if (!raw.ok()) return raw.status();
  ScanResult result;
  auto started = Clock::now();
  Status scanned = (*raw)->ForEach([&](const rocksdb::Slice& key, const rocksdb::Slice& value) {
    ++result.events;
    result.bytes += key.size() + value.size();
  });
  ROLLBOOK_RETURN_IF_ERROR(scanned);
  result.seconds = SecondsSince(started);
  return result;
}

Result<ScanResult> ExportStoredBytes(const std::string& directory, const std::string& output) {
  auto raw = RawEvents::Open(directory);
  if (!raw.ok()) return raw.status();
  std::ofstream out(output, std::ios::binary | std::ios::trunc);
  if (!out) return IoError("cannot write " + output);
  ScanResult result;
  auto started = Clock::now();
  Status scanned = (*raw)->ForEach([&](const rocksdb::Slice&, const rocksdb::Slice& value) {
    out.write(value.data(), static_cast<std::streamsize>(value.size()));
    ++result.events;
    result.bytes += value.size();
  });
  ROLLBOOK_RETURN_IF_ERROR(scanned);
  out.close();
  if (!out) return IoError("writing " + output + " failed");
  result.seconds = SecondsSince(started);
  return result;
}

Result<StreamReadResult> ReadStream(const std::string& directory, const std::string& stream,
                                    int repeat) {
  if (repeat < 1) return InvalidArgument("--repeat must be at least 1");
  auto ledger = OpenReadOnly(directory);
  if (!ledger.ok()) return ledger.status();
  StreamReadResult result;
  result.head = (*ledger)->HeadPosition();
  std::vector<double> micros;
  for (int r = 0; r < repeat; ++r) {
    auto started = Clock::now();
    ledger::ReadOptions options;
    options.stream = stream;
    auto it = (*ledger)->Read(options);
    if (!it.ok()) return it.status();
    uint64_t events = 0;
    for (; (*it)->Valid(); (*it)->Next()) ++events;
    ROLLBOOK_RETURN_IF_ERROR((*it)->status());
    micros.push_back(SecondsSince(started) * 1e6);
    result.events_per_read = events;
  }
  if (result.events_per_read == 0) return NotFound("stream '" + stream + "' has no events");
  std::sort(micros.begin(), micros.end());
  result.median_us = micros[micros.size() / 2];
  result.min_us = micros.front();
  return result;
}

Result<RebuildResult> RebuildProjections(const std::string& directory,
                                         const std::string& projection_directory,
                                         const std::string& only) {
  auto ledger = OpenReadOnly(directory);
  if (!ledger.ok()) return ledger.status();
  projections::RunnerOptions options;
  options.directory = projection_directory;
  auto runner =
      projections::ProjectionRunner::Open(**ledger, projections::MakeDefaultProjections(), options);
  if (!runner.ok()) return runner.status();

  RebuildResult result;
  result.head = (*ledger)->HeadPosition();
  auto started = Clock::now();
  for (const std::string& name : (*runner)->names()) {
    if (!only.empty() && name != only) continue;
    ROLLBOOK_RETURN_IF_ERROR((*runner)->Rebuild(name));
    ++result.projections;
  }
  if (result.projections == 0) return NotFound("no projection named '" + only + "'");
  result.seconds = SecondsSince(started);
  (*runner)->Stop();

  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  result.peak_rss_kib = static_cast<uint64_t>(usage.ru_maxrss);
  return result;
}

}  // namespace rollbook::bench
