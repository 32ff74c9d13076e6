// The ledger: rollbook's append-only, hash-chained event log on RocksDB.
//
// Ownership and threads. One process owns a ledger directory for writing at a time; Open() takes
// an exclusive lock on <dir>/OWNER and records the owner's pid and description there. Every
// method of an open Ledger is safe to call from any thread.
//
// Durability and visibility. With Options::sync (the default) Append() returns only after the
// WAL that contains its events has been fsynced. Concurrent appenders share one write and one
// sync (group commit). Events become visible to readers and subscribers in position order: no
// reader sees position N+1 before N is readable, so a consumer that checkpoints N+1 never skips N.
// A failed write or sync stops the ledger from accepting appends until it is reopened, because
// the state of the WAL tail is then unknown.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ledger/event.h"
#include "ledger/status.h"

namespace rollbook::ledger {

struct Options {
  std::string directory;
  bool sync = true;                     // fsync the WAL before an append returns
  bool read_only = false;               // open without the owner lock; see docs/ledger-format.md
  std::string owner;                    // shown to a second process that tries to open for writing
  size_t max_event_bytes = 1 << 20;     // largest accepted payload, in bytes
  size_t max_events_per_append = 1000;  // largest accepted batch
  // Wall clock in UTC nanoseconds; tests replace it to step time backwards.
  std::function<int64_t()> wall_clock_ns;
};

struct LedgerInfo {
  std::string directory;
  std::string ledger_id;
  uint64_t head_position = 0;
  std::string head_hash;  // raw bytes
  uint64_t event_count = 0;
  uint64_t size_on_disk_bytes = 0;
  bool sync = true;
  bool read_only = false;
};

// Filter and direction of a read. Positions are inclusive.
struct ReadOptions {
  uint64_t from_position = 1;
  uint64_t to_position = kLastPosition;
  bool backward = false;
  size_t limit = std::numeric_limits<size_t>::max();
  std::string stream;              // only this stream, when set
  int64_t since_ns = 0;            // only events recorded at or after, when non-zero
  int64_t until_ns = 0;            // only events recorded before, when non-zero
  std::vector<std::string> types;  // only these event types, when non-empty
  std::string actor;               // only this actor, when set
  std::string correlation_id;      // only this rollback, when set
};

// Iterator over events that loads them one at a time. Created by Ledger::Read(), it returns the
// events committed before it was created. It is not thread-safe, so one thread uses one iterator.
class EventIterator {
 public:
  virtual ~EventIterator() = default;
  virtual bool Valid() const = 0;
  virtual const RecordedEvent& event() const = 0;
  virtual void Next() = 0;
  // Returns the first error met; iteration stops at an error.
  virtual Status status() const = 0;
};

// Delivers events after a position: first those already committed, then new ones as they
// commit. A slow subscriber does not block appenders, because it reads from storage at its own
// pace (tested by ConcurrencyTest.SlowSubscriberDoesNotBlockAppends).
class Subscription {
 public:
  virtual ~Subscription() = default;
  // Waits up to `timeout` for the next event. Returns nullopt on timeout or after Close().
  virtual Result<std::optional<RecordedEvent>> Next(std::chrono::milliseconds timeout) = 0;
  // Wakes a blocked Next() and makes later calls return nullopt. Safe from any thread.
  virtual void Close() = 0;
  // Position of the last event delivered.
  virtual uint64_t position() const = 0;
};

struct VerifyOptions {
  uint64_t from_position = 1;
  std::string trusted_previous_hash;  // raw hash of from_position - 1; empty trusts the store
  bool check_indexes = true;
  std::function<void(uint64_t checked, uint64_t head)> progress;  // called every 100k events
};

struct VerifyReport {
  bool intact = true;
  uint64_t events_checked = 0;
  uint64_t head_position = 0;
  uint64_t first_bad_position = 0;  // set when !intact
  std::string problem;              // what is wrong at first_bad_position
};

class Ledger {
 public:
  virtual ~Ledger() = default;

  // Creates a new ledger in `options.directory` and appends LedgerInitialized at position 1.
  // Fails with kAlreadyExists if the directory already contains a ledger.
  static Result<std::unique_ptr<Ledger>> Create(const Options& options, const std::string& actor);

  // Creates a ledger with no events at all, to receive an import through AppendVerbatim().
  static Result<std::unique_ptr<Ledger>> CreateForImport(const Options& options);

  // Opens an existing ledger. Fails with kNotFound if there is none, and with kBusy naming the
  // owner's pid when another process has it open for writing.
  static Result<std::unique_ptr<Ledger>> Open(const Options& options);

  // Appends the request's events atomically: all of them or none. See the header comment for
  // when the events are durable. Errors: kConflict on an expected-version mismatch (naming the
  // stream, expected and current version), kInvalidArgument or kLimitExceeded on bad input,
  // kFailedPrecondition once the ledger has stopped accepting writes.
  virtual Result<AppendResult> Append(const AppendRequest& request) = 0;

  virtual Result<RecordedEvent> ReadEvent(uint64_t position) = 0;
  virtual Result<std::unique_ptr<EventIterator>> Read(const ReadOptions& options) = 0;

  // Returns the stream's last version, or 0 when the stream has no events.
  virtual Result<uint64_t> StreamVersion(const std::string& stream) = 0;

  // Subscribes to events after `after_position` (0 for all).
  virtual std::unique_ptr<Subscription> Subscribe(uint64_t after_position) = 0;

  // Waits until `position` is committed or the timeout passes; returns whether it is.
  virtual bool WaitForPosition(uint64_t position, std::chrono::milliseconds timeout) = 0;

  virtual uint64_t HeadPosition() const = 0;
  virtual Result<LedgerInfo> Info() = 0;

  // Re-hashes the chain; see VerifyReport. A broken chain is a report, not an error status.
  virtual Result<VerifyReport> Verify(const VerifyOptions& options) = 0;

  // Writes a consistent copy of the open ledger into the new directory `target`.
  virtual Status Checkpoint(const std::string& target) = 0;

  // Appends an event exactly as recorded elsewhere (used by import). The event's position must
  // be HeadPosition() + 1, its previous hash the current head hash, and its hash must match.
  virtual Status AppendVerbatim(const RecordedEvent& event) = 0;

  // Updates a key=value line in the owner file (such as "socket" or "http").
  virtual Status SetOwnerDetail(const std::string& key, const std::string& value) = 0;

  virtual const std::string& directory() const = 0;
};

// Reads the owner file of a ledger directory: key=value pairs such as pid, owner, socket, http.
// The file keeps the details of an owner that was killed until the next one starts.
std::vector<std::pair<std::string, std::string>> ReadOwnerDetails(const std::string& directory);

// Returns ReadOwnerDetails() while the recorded pid is alive, and an empty vector otherwise.
std::vector<std::pair<std::string, std::string>> ReadLiveOwnerDetails(const std::string& directory);

}  // namespace rollbook::ledger
