// Projections: read models folded from the ledger's events.
//
// A Projection folds events in position order into an in-memory state and saves that state as
// key/value entries. The ProjectionRunner (projections/runner.h) stores the entries together with
// the projection's checkpoint, the position of the last applied event, in one atomic write, so a
// restarted process continues from the checkpoint without applying any event twice.
//
// Threads. A projection is not thread-safe; the runner serializes every call on one instance.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "ledger/event.h"
#include "ledger/status.h"

namespace rollbook::projections {

// Receives the entries a projection saves. Keys must not start with '@', which the runner
// reserves for its own records (the checkpoint).
class StateWriter {
 public:
  virtual ~StateWriter() = default;
  virtual void Put(std::string_view key, std::string_view value) = 0;
  virtual void Delete(std::string_view key) = 0;
};

// Reads a projection's stored entries from one consistent snapshot.
class StateReader {
 public:
  virtual ~StateReader() = default;
  virtual Result<std::optional<std::string>> Get(std::string_view key) = 0;
  // Calls `visit` for each entry whose key starts with `prefix`, in key order, beginning at the
  // first key >= `start` (or at `prefix` when `start` is empty). `visit` returns false to stop.
  virtual Status Scan(
      std::string_view prefix, std::string_view start,
      const std::function<bool(std::string_view key, std::string_view value)>& visit) = 0;
  // Position of the last event whose effects the snapshot holds.
  virtual uint64_t checkpoint() const = 0;
};

class Projection {
 public:
  virtual ~Projection() = default;

  // Stable name: the RocksDB column family, the URL segment and the `replay` argument.
  virtual std::string_view name() const = 0;

  // Version of the saved entries' layout. A stored state with another version is dropped and
  // rebuilt from the log when the runner opens it.
  virtual uint32_t format_version() const = 0;

  // Folds one event. The runner passes events in position order, each exactly once. Event
  // types the projection does not know must be ignored, so a newer ledger still folds.
  virtual void Apply(const ledger::RecordedEvent& event) = 0;

  // Writes every change since the last Save() (or since Load()) into `writer`.
  virtual Status Save(StateWriter& writer) = 0;

  // Replaces the in-memory state with the stored one. Fails with kCorruption naming the key
  // when an entry cannot be parsed.
  virtual Status Load(StateReader& reader) = 0;

  // Returns the state as JSON, as `rollbook replay` prints it. Two projections that applied
  // the same events return equal JSON.
  virtual nlohmann::json ToJson() const = 0;

  // Returns a new, empty projection of the same kind for evaluating a past state in memory.
  // It is never saved, so it may skip the bookkeeping Save() needs.
  virtual std::unique_ptr<Projection> NewDetached() const = 0;
};

}  // namespace rollbook::projections
