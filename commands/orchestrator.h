// The orchestrator: turns operator commands into ledger events, and follows the ledger to run
// what those events ask for.
//
// Threads. Start() launches a follower thread that reads the ledger through a subscription,
// folds every rollback's state, and starts one run (with its own threads) per rollback to
// execute. Execute() may be called from any thread (CLI, command socket, HTTP server).
// Stop() stops following, cancels nothing, and waits until the running steps finish and their
// rollbacks reach an event boundary.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <thread>

#include "commands/backup_store.h"
#include "commands/command_service.h"
#include "commands/driver.h"
#include "ledger/ledger.h"
#include "projections/rollback_state.h"

namespace rollbook::commands {

class RunControl;

struct OrchestratorOptions {
  const DriverRegistry* drivers = nullptr;  // BuiltIn() when null
  std::string backup_dir;                   // <ledger>/backups when empty
  std::string default_runbook;              // used when a start command names none
  // Resume every unfinished rollback found at start (the server does; the CLI resumes one
  // rollback only when asked with `rollbook resume`).
  bool resume_unfinished = false;
  std::string executor_actor = "rollbook";
  std::map<std::string, ExtraCommand> extra_commands;  // by command name
};

class Orchestrator final : public CommandService {
 public:
  Orchestrator(ledger::Ledger& ledger, OrchestratorOptions options);
  ~Orchestrator() override;

  // Catches up with the ledger and starts following it.
  Status Start();
  void Stop();

  Result<nlohmann::json> Execute(const CommandRequest& request) override;

  // Returns a copy of the rollback's folded state, as far as the follower has read.
  std::optional<projections::RollbackState> Snapshot(const std::string& rollback_id);

  // Waits until the follower has applied `position`.
  bool WaitApplied(uint64_t position, std::chrono::milliseconds timeout);

  // Waits until the rollback is neither running here nor active; returns its final state.
  std::optional<projections::RollbackState> WaitForRollback(const std::string& rollback_id,
                                                            std::chrono::milliseconds timeout);

 private:
  struct RunningRollback;

  void Follow();
  void React(const ledger::RecordedEvent& event, const std::string& rollback_id);
  void Launch(const std::string& rollback_id, std::optional<struct OperatorDecision> decision);
  void ReapFinishedRuns();

  Result<nlohmann::json> StartRollback(const CommandRequest& request);
  Result<nlohmann::json> RequestStepDecision(const CommandRequest& request, bool skip);
  Result<nlohmann::json> CancelRollback(const CommandRequest& request);
  Result<nlohmann::json> ResumeRollback(const CommandRequest& request);
  Result<nlohmann::json> AppendNote(const CommandRequest& request);
  Result<ledger::AppendResult> AppendCommand(const std::string& stream,
                                             const std::string& correlation_id,
                                             const CommandRequest& request, ledger::NewEvent event,
                                             ledger::ExpectedVersion expected);

  ledger::Ledger& ledger_;
  OrchestratorOptions options_;
  BackupStore backups_;
  std::string executor_description_;

  std::mutex start_mutex_;  // serializes start commands so the one-active rule holds

  std::mutex mutex_;
  std::condition_variable applied_changed_;
  projections::RollbackFold fold_;  // guarded by mutex_
  uint64_t applied_position_ = 0;   // guarded by mutex_
  uint64_t launch_after_ = 0;       // requests after this position run here
  std::map<std::string, std::shared_ptr<RunningRollback>> runs_;  // guarded by mutex_
  bool stopping_ = false;                                         // guarded by mutex_

  std::unique_ptr<ledger::Subscription> subscription_;
  std::thread follower_;
};

}  // namespace rollbook::commands
