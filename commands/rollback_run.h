// One rollback's execution: components in dependency order, steps with gates, retries,
// cancellation and operator decisions, every action appended to the ledger.
//
// A run starts from a RollbackState folded from the ledger, so the same code starts a new
// rollback, resumes one after a crash, and continues one after an operator's retry or skip.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>

#include "commands/backup_store.h"
#include "commands/driver.h"
#include "commands/rollback_events.h"
#include "commands/secrets.h"
#include "projections/rollback_state.h"

namespace rollbook::commands {

// An operator's decision about a step that is waiting: retry it, or skip it.
struct OperatorDecision {
  enum class Kind { kRetry, kSkip };
  Kind kind = Kind::kRetry;
  std::string component;
  std::string step;
  std::string reason;
  std::string actor;
};

// Shared between a running rollback and the orchestrator thread that forwards commands.
class RunControl {
 public:
  // Cancel ends the rollback as cancelled after the running steps finish.
  void Cancel();
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }

  // Stop interrupts the run at the next event boundary and leaves the rollback active, so that
  // `rollbook resume` or the next server start continues it. Used on shutdown.
  void Stop();
  bool stopped() const { return stopped_.load(std::memory_order_acquire); }

  void Decide(OperatorDecision decision);
  // Waits for a decision about `component`/`step`; returns nullopt on cancel or stop.
  std::optional<OperatorDecision> AwaitDecision(const std::string& component, const std::string& step);
  // Sleeps up to `duration`; returns early (false) when cancelled or stopped.
  bool SleepUnlessCancelled(std::chrono::milliseconds duration);

 private:
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> stopped_{false};
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<OperatorDecision> decisions_;  // guarded by mutex_
};

struct RunEnvironment {
  ledger::Ledger* ledger = nullptr;
  const DriverRegistry* drivers = nullptr;
  BackupStore* backups = nullptr;
  // Returns every backup recorded in the ledger so far, for restores and point-in-time.
  std::function<InMemoryBackupCatalog()> catalog;
  std::string executor_actor = "rollbook";
  std::string executor_description;  // "pid <n> on <host>"
};

// Runs the rollback in `state` to completion (or until it waits for an operator and is
// cancelled). `decision`, when set, is applied first: the retried step becomes pending again,
// or the skipped step is recorded as skipped.
void RunRollback(const RunEnvironment& environment, projections::RollbackState state,
                 RunControl& control, std::optional<OperatorDecision> decision);

}  // namespace rollbook::commands
