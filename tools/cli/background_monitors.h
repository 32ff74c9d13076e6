// Monitoring that a ledger's owner runs for other processes: `rollbook monitor` sent through the
// command socket or the HTTP API while `rollbook serve` or `rollbook start` owns the ledger.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
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
};

}  // namespace rollbook::cli
