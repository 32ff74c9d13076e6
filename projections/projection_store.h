// ProjectionStore: the RocksDB database that stores every projection's saved state. Internal to
// projections/; use projections/runner.h.
//
// Layout. The store is its own RocksDB database, by default in <ledger>/projections, apart from
// the ledger's database: projections can be dropped and rebuilt at any time, their writes need
// no fsync, and the ledger's hash-chained data is never written by this code. Each projection
// has one column family named after it. Besides the projection's own entries, a family holds
//   "@checkpoint" -> BE64(position of the last applied event)
//   "@format"     -> BE32(the projection's format version when the state was written)
// and both are written in the same WriteBatch as the entries they describe.
//
// Durability. Commits go through RocksDB's WAL without fsync: a crash may lose the last commits,
// but the entries and the checkpoint always come back together, so the projection refolds the
// lost events once, never twice.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/status.h"
#include "projections/projection.h"

namespace rollbook::projections {

struct StoredCheckpoint {
  uint64_t position = 0;
  uint32_t format_version = 0;  // 0 when nothing was ever committed
};

class ProjectionStore {
 public:
  // Opens the store in `directory`, creating it and a column family for each of `names` when
  // missing. Fails with kBusy when another process has the store open.
  static Result<std::unique_ptr<ProjectionStore>> Open(const std::string& directory,
                                                       const std::vector<std::string>& names);
  ~ProjectionStore();
  ProjectionStore(const ProjectionStore&) = delete;
  ProjectionStore& operator=(const ProjectionStore&) = delete;

  Result<StoredCheckpoint> ReadCheckpoint(std::string_view name);

  // Writes what `fill` puts into the writer together with the checkpoint, atomically.
  Status Commit(std::string_view name, const std::function<Status(StateWriter&)>& fill,
                uint64_t checkpoint, uint32_t format_version);

  // Drops the projection's column family and creates it again, empty.
  // REQUIRES: no reader of this projection is alive.
  Status Reset(std::string_view name);

  // Returns a reader on a snapshot of the projection's entries.
  // REQUIRES: the store outlives the reader, and Reset() is not called while it is alive.
  Result<std::unique_ptr<StateReader>> NewReader(std::string_view name);

  const std::string& directory() const { return directory_; }

 private:
  struct Impl;
  explicit ProjectionStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::string directory_;
};

}  // namespace rollbook::projections
