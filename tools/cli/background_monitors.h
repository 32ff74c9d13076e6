// Monitoring that a ledger's owner runs for other processes: `rollbook monitor` sent through the
// command socket or the HTTP API while `rollbook serve` or `rollbook start` owns the ledger.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "analyzer/monitor.h"
#include "ledger/ledger.h"
#include "ledger/status.h"
#include "projections/rollback_state.h"

namespace rollbook::cli {

class BackgroundMonitors {
 public:
  explicit BackgroundMonitors(ledger::Ledger& ledger) : ledger_(ledger) {}
  // Ends every monitoring run early, as interrupted, and waits for them.
  ~BackgroundMonitors();

  BackgroundMonitors(const BackgroundMonitors&) = delete;
  BackgroundMonitors& operator=(const BackgroundMonitors&) = delete;

  // Starts monitoring `rollback` with `spec` on a thread of its own. Fails with kConflict while
  // that rollback is already being monitored here.
  Status Start(const projections::RollbackState& rollback, analyzer::MonitorSpec spec,
               analyzer::MonitorOptions options);

  // Marks `rollback_id` as monitored in the foreground of this process, such as by
  // `rollbook start` after its rollback, until the returned object goes away; Start() rejects
  // it meanwhile.
  class ForegroundRun {
   public:
    ForegroundRun(BackgroundMonitors& monitors, std::string rollback_id);
    ~ForegroundRun();
    ForegroundRun(const ForegroundRun&) = delete;
    ForegroundRun& operator=(const ForegroundRun&) = delete;

   private:
    BackgroundMonitors& monitors_;
    std::string rollback_id_;
  };

 private:
  struct Run {
    std::thread thread;
    std::atomic<bool> done{false};
  };

  void ReapFinishedLocked();

  ledger::Ledger& ledger_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Run>> runs_;  // by rollback id
  std::set<std::string> foreground_;                  // rollback ids; see ForegroundRun
};

}  // namespace rollbook::cli
