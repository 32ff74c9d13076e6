// Work the HTTP API starts and reports on later: chain verification and projection rebuilds.
// Each runs on its own thread, one at a time per kind (per projection for rebuilds); Stop()
// waits for running jobs to end.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <thread>

#include "ledger/ledger.h"
#include "ledger/status.h"

namespace rollbook::projections {
class ProjectionRunner;
}

namespace rollbook::server {

// Verifies the ledger's hash chain in the background.
class VerifyJob {
 public:
  explicit VerifyJob(ledger::Ledger& ledger) : ledger_(ledger) {}
  ~VerifyJob() { Stop(); }

  // Starts a verification unless one is running, or unless the last one already covered the
  // current head and `refresh` is false. Returns the job's state as JSON (see docs/http-api.md).
  nlohmann::json Poll(bool refresh);

  // Waits for a running verification to finish.
  // NOTE: Ledger::Verify cannot be interrupted, so on a large ledger this waits for the full run.
  void Stop();

 private:
  void Run(uint64_t target);
  nlohmann::json StateLocked() const;

  ledger::Ledger& ledger_;
  std::mutex mutex_;
  std::thread thread_;                          // guarded by mutex_
  bool running_ = false;                        // guarded by mutex_
  bool stopping_ = false;                       // guarded by mutex_
  uint64_t checked_ = 0;                        // guarded by mutex_
  uint64_t target_ = 0;                         // guarded by mutex_
  int64_t started_at_ns_ = 0;                   // guarded by mutex_
  std::optional<ledger::VerifyReport> report_;  // guarded by mutex_
  std::string error_;                           // guarded by mutex_
  int64_t finished_at_ns_ = 0;                  // guarded by mutex_
};

// Rebuilds projections in the background, for POST /v1/projections/{name}/rebuild.
class RebuildJobs {
 public:
  explicit RebuildJobs(projections::ProjectionRunner& runner) : runner_(runner) {}
  ~RebuildJobs() { Stop(); }

  // Fails with kConflict when that projection is already being rebuilt.
  Status Start(const std::string& name, const std::string& actor);
  void Stop();

 private:
  projections::ProjectionRunner& runner_;
  std::mutex mutex_;
  std::map<std::string, std::thread> threads_;  // guarded by mutex_
  std::map<std::string, bool> running_;         // guarded by mutex_
  bool stopping_ = false;                       // guarded by mutex_
};

}  // namespace rollbook::server
