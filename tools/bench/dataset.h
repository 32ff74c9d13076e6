// Benchmarks over a prepared ledger: filling it, replaying it, reading one stream, exporting
// its stored bytes and rebuilding its projections.
#pragma once

#include <cstdint>
#include <string>

#include "ledger/status.h"
#include "tools/bench/workload.h"

namespace rollbook::bench {

// The stream that receives `probe_events` events spread evenly over a filled ledger, so that a
// stream of the same length can be read from a small and from a large ledger.
inline constexpr char kProbeStream[] = "probe/notes";

struct FillOptions {
  std::string directory;
  uint64_t events = 100000;        // annotation events, besides probe and rollback events
  size_t events_per_append = 8;    // each append goes to one Zipf-chosen stream
  size_t threads = 2;              // concurrent appenders (no sync; group commit batches them)
  uint64_t probe_events = 200;     // events in kProbeStream
  uint64_t rollback_every = 2000;  // one 11-event rollback per this many annotation events
};

struct FillResult {
  uint64_t head = 0;
  double seconds = 0;
  uint64_t size_on_disk_bytes = 0;
  uint64_t rollbacks = 0;
};

// Creates a ledger without sync and fills it with the workload.
Result<FillResult> FillLedger(const Workload& workload, const FillOptions& options);

// Opens the ledger's database with plain RocksDB, flushes every column family and closes it,
// so that the next open replays no write-ahead log: the state a ledger that flushed its
// memtables on close would leave. For measuring what such a flush would change.
// REQUIRES: no process has the ledger open.
Status FlushLedgerMemtables(const std::string& directory);

struct ScanResult {
  uint64_t events = 0;
  uint64_t bytes = 0;
  double seconds = 0;
  uint64_t rollbacks = 0;  // rollbacks folded (replay by rollbook only)
};

// Reads every event in position order and folds it into RollbackFold.
Result<ScanResult> ReplayWithFold(const std::string& directory);

// Iterates the ledger's events column family with plain RocksDB calls: the same stored
// values the replay reads, without decoding.
Result<ScanResult> IterateRaw(const std::string& directory);

// Writes every stored event value (hash and body) to `output`, in position order: the bytes
// `rollbook verify` hashes, for comparing it with sha256sum.
Result<ScanResult> ExportStoredBytes(const std::string& directory, const std::string& output);

struct StreamReadResult {
  uint64_t head = 0;
  uint64_t events_per_read = 0;
  double median_us = 0;
  double min_us = 0;
};

// Reads the whole of `stream` `repeat` times from a read-only ledger.
Result<StreamReadResult> ReadStream(const std::string& directory, const std::string& stream,
                                    int repeat);

struct RebuildResult {
  uint64_t head = 0;
  double seconds = 0;
  uint64_t peak_rss_kib = 0;  // getrusage(RUSAGE_SELF).ru_maxrss of this process
  size_t projections = 0;
};

// Rebuilds every default projection (or only `only`, when set) from the ledger into
// `projection_directory`, one after the other.
Result<RebuildResult> RebuildProjections(const std::string& directory,
                                         const std::string& projection_directory,
                                         const std::string& only);

struct FsyncResult {
  uint64_t syncs = 0;
  double seconds = 0;
  double syncs_per_second = 0;
  double p50_us = 0;
};

// Appends 512-byte records to a file in `directory`, calling fdatasync after each, as a WAL
// does, for `seconds`: the disk's durable-write rate that bounds every synced append.
Result<FsyncResult> MeasureFsync(const std::string& directory, double seconds);

}  // namespace rollbook::bench
