// ProjectionRunner: keeps projections up to date with the ledger.
//
// On Open() each projection loads its saved state and checkpoint. Start() gives each projection
// a follower thread that subscribes to the ledger after its checkpoint, catches up, then
// follows new events as they commit. A follower commits its state and checkpoint together every
// `commit_every_events` events or `commit_interval`, whichever comes first, and once more on
// Stop().
//
// Threads. Every method is safe to call from any thread. Read() blocks the projection's
// follower while the callback runs, so callbacks should be short.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/status.h"
#include "projections/projection.h"

namespace rollbook::ledger {
class Ledger;
}

namespace rollbook::projections {

struct RunnerOptions {
  std::string directory;  // the projection store; ProjectionDirectory(ledger dir) by default
  size_t commit_every_events = 1000;
  std::chrono::milliseconds commit_interval{200};
};

// Returns "<ledger_directory>/projections".
std::string ProjectionDirectory(const std::string& ledger_directory);

struct ProjectionStatus {
  std::string name;
  uint64_t applied_position = 0;    // last event folded into the in-memory state
  uint64_t committed_position = 0;  // last event whose effects are stored
  bool caught_up = false;           // the follower reached the ledger head at least once
  bool rebuilding = false;
  std::string last_error;  // empty when the last commit and read succeeded
};

// Called during a rebuild with the position folded so far and the head being folded to.
using RebuildProgress = std::function<void(uint64_t position, uint64_t head)>;

class ProjectionRunner {
 public:
  // Opens the store and loads every projection's saved state. A projection whose stored format
  // version differs from its own starts empty and refolds from position 0. `ledger` must
  // outlive the runner.
  static Result<std::unique_ptr<ProjectionRunner>> Open(
      ledger::Ledger& ledger, std::vector<std::unique_ptr<Projection>> projections,
      RunnerOptions options);
  ~ProjectionRunner();  // calls Stop()
  ProjectionRunner(const ProjectionRunner&) = delete;
  ProjectionRunner& operator=(const ProjectionRunner&) = delete;

  // Starts the follower threads. Calling it again while they run does nothing.
  void Start();
  // Commits what the followers applied and joins them. Safe to call more than once.
  void Stop();

  // Drops the projection's stored state and folds every event again from position 0 on the
  // calling thread, committing as it goes. The follower, if running, pauses meanwhile.
  Status Rebuild(std::string_view name, const RebuildProgress& progress = nullptr);

  // Folds events 1..position into a new in-memory projection, leaving the live and stored
  // states alone, and returns {"projection", "position": last folded, "state": ToJson()}.
  // Fails with kNotFound past the head.
  Result<nlohmann::json> EvaluateAt(std::string_view name, uint64_t position);
  // Same, for the events recorded at or before `time_ns` (UTC nanoseconds).
  Result<nlohmann::json> EvaluateAsOf(std::string_view name, int64_t time_ns);

  // Calls `read` with the live projection and a snapshot of its stored entries. The in-memory
  // projection may be ahead of the snapshot, whose position is StateReader::checkpoint().
  Status Read(std::string_view name,
              const std::function<Status(const Projection& projection, StateReader& stored)>& read);

  // Waits until every projection applied `position`; returns whether they did in time.
  bool WaitForPosition(uint64_t position, std::chrono::milliseconds timeout);

  std::vector<ProjectionStatus> Statuses() const;
  // True once every follower reached the ledger head at least once.
  bool CaughtUp() const;
  std::vector<std::string> names() const;

 private:
  struct Slot;
  struct Impl;
  explicit ProjectionRunner(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Folds events 1..position of `ledger` into a new detached projection of the same kind as
// `prototype`, stopping before the first event recorded after `until_ns` when that is non-zero.
// Returns {"projection", "position": last folded, "state": ToJson()}. Needs no projection store,
// so it works on a read-only ledger while a server runs.
Result<nlohmann::json> EvaluateProjection(ledger::Ledger& ledger, const Projection& prototype,
                                          uint64_t position, int64_t until_ns);

// Creates the projections `rollbook serve` runs: rollbacks, components, metrics and audit.
std::vector<std::unique_ptr<Projection>> MakeDefaultProjections();

}  // namespace rollbook::projections
