// The systems under comparison, behind one interface, so that every benchmark drives rollbook
// and its peers with the same loop.
//
// Each store keeps the same logical data: an event has a global position, a stream id, a
// version within the stream and the payload bytes. What each store does per append:
//   rollbook    Ledger::Append with one request (hash chain, stream and time indexes).
//   rocksdb     one Put (or one WriteBatch) of the payload bytes under a big-endian sequence
//               number; no stream versions, no indexes, no hashing, no encoding.
//   postgres    one INSERT per transaction into an append-only table with a bigserial position
//               and UNIQUE (stream, version). The version is MAX(version) + 1 of the stream. A
//               unique violation from a concurrent writer is retried.
//   sqlite      the same table and statement in a WAL-mode database with synchronous=FULL.
//
// Threads. A Store is shared by all threads of a benchmark; each thread opens its own Session.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ledger/event.h"
#include "ledger/status.h"

namespace rollbook::bench {

// One client of a store, used by one thread.
class Session {
 public:
  virtual ~Session() = default;

  // Appends the events to `stream` as one atomic write; durable when the store syncs.
  virtual Status Append(const std::string& stream,
                        const std::vector<const ledger::NewEvent*>& events) = 0;

  // Reads the newest `count` events, newest first; returns how many it read.
  virtual Result<size_t> ReadNewest(size_t count) = 0;

  // Delivers events after position `after` to a catch-up subscriber: waits up to 100 ms for
  // at least one, and returns the position of the last delivered (or `after` when none).
  virtual Result<uint64_t> CatchUp(uint64_t after) = 0;

  // Returns the position of the newest event, 0 when there is none.
  virtual Result<uint64_t> LastPosition() = 0;

  // Sum of conflict retries this session needed (postgres, sqlite); 0 for the others.
  virtual uint64_t retries() const { return 0; }
};

class Store {
 public:
  virtual ~Store() = default;
  virtual Result<std::unique_ptr<Session>> NewSession() = 0;
  virtual std::string name() const = 0;
};

struct StoreOptions {
  std::string system;     // rollbook, rocksdb, rocksdb-indexed, postgres or sqlite
  std::string directory;  // data directory, or the directory of the database file for sqlite
  std::string dsn;        // libpq connection string (postgres)
  bool sync = true;
  bool reuse = false;  // open existing data instead of requiring an empty store
};

// Creates or opens the store. For postgres, creates the table when it is missing; without
// `reuse` it must be empty afterwards (the suite drops it between runs).
Result<std::unique_ptr<Store>> OpenStore(const StoreOptions& options);

Result<std::unique_ptr<Store>> OpenRollbookStore(const StoreOptions& options);
Result<std::unique_ptr<Store>> OpenRocksStore(const StoreOptions& options);
Result<std::unique_ptr<Store>> OpenPostgresStore(const StoreOptions& options);
Result<std::unique_ptr<Store>> OpenSqliteStore(const StoreOptions& options);

}  // namespace rollbook::bench
