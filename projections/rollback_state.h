// The state of rollbacks folded from their events: the one model that the executor (to resume),
// the rollbacks projection, `rollbook status` and the HTTP API all read.
//
// RollbackFold::Apply() must see events in position order. It ignores events it does not know,
// so a ledger written by a newer version still folds.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "ledger/event.h"
#include "ledger/status.h"

namespace rollbook::projections {

enum class StepStatus { kPending, kRunning, kSucceeded, kFailed, kRetrying, kSkipped, kOutcomeUnknown };
enum class ComponentStatus { kPending, kRunning, kSucceeded, kFailed, kSkipped, kCancelled, kPartial };
enum class RollbackStatus { kRequested, kRunning, kWaiting, kCompleted };

std::string_view StepStatusName(StepStatus status);
std::string_view ComponentStatusName(ComponentStatus status);
std::string_view RollbackStatusName(RollbackStatus status);
// Outcome names match schema::Outcome's enumerants: "succeeded", "partiallySucceeded", ...
std::string_view OutcomeName(int outcome);

struct StepState {
  std::string name;
  std::string driver;
  std::string action;
  std::string role;
  bool mutates = false;
  bool idempotent = false;
  uint64_t timeout_ms = 0;
  uint32_t retries = 0;
  uint64_t backoff_ms = 0;
  uint64_t budget_ms = 0;
  std::string params_json;

  StepStatus status = StepStatus::kPending;
  uint32_t attempts = 0;
  int64_t started_at_ns = 0;   // first attempt's start
  int64_t finished_at_ns = 0;  // last outcome's time
  int64_t duration_ns = 0;     // sum of the attempts' durations
  std::string last_error;
  std::string summary;
  uint64_t last_position = 0;
};

struct ComponentState {
  std::string name;
  std::vector<std::string> after;
  uint64_t budget_ms = 0;
  std::vector<StepState> steps;
  ComponentStatus status = ComponentStatus::kPending;
  int64_t started_at_ns = 0;
  int64_t finished_at_ns = 0;

  StepState* FindStep(const std::string& step);
};

struct BackupSummary {
  std::string backup_id;
  std::string sha256;
  uint64_t size_bytes = 0;
  std::string driver;
  std::string origin;
  std::string format;
  std::string component;
  std::string step;
  int64_t taken_at_ns = 0;
  uint64_t position = 0;
};

struct RollbackState {
  std::string id;
  std::string feature;
  std::string environment;
  std::string scope;
  std::string mode;
  std::string reason;
  std::string actor;
  int64_t target_time_ns = 0;
  bool dry_run = false;
  bool drill = false;
  std::string runbook_path;
  std::string runbook_sha256;
  uint64_t budget_ms = 0;
  std::string notifications_json;  // secret references unresolved
  std::string monitor_json;

  RollbackStatus status = RollbackStatus::kRequested;
  int outcome = 0;  // schema::Outcome value; 0 (unknown) until completed
  int64_t requested_at_ns = 0;
  int64_t started_at_ns = 0;
  int64_t completed_at_ns = 0;
  int64_t duration_ns = 0;
  bool cancel_requested = false;
  std::string cancel_reason;
  std::string summary;
  uint64_t requested_position = 0;
  uint64_t last_position = 0;
  uint64_t event_count = 0;

  std::vector<ComponentState> components;  // plan order
  std::vector<BackupSummary> backups;
  std::vector<std::string> notes;

  ComponentState* FindComponent(const std::string& component);
  const ComponentState* FindComponent(const std::string& component) const;
  bool Active() const { return status != RollbackStatus::kCompleted; }
};

// Folds events into the states of every rollback.
class RollbackFold {
 public:
  // Applies one event; returns the id of the rollback it touched, or empty.
  std::string Apply(const ledger::RecordedEvent& event);

  const std::map<std::string, RollbackState>& rollbacks() const { return rollbacks_; }
  const RollbackState* Find(const std::string& id) const;

  // Returns the id of the active rollback of this feature and environment, or empty.
  std::string ActiveFor(const std::string& feature, const std::string& environment) const;

  // Replaces the folded state with `rollbacks`, such as the rollbacks projection saved.
  void Restore(std::map<std::string, RollbackState> rollbacks);

  // Highest rollback number seen, so the next id is "rb-" + (that + 1).
  uint64_t highest_number() const { return highest_number_; }

 private:
  std::map<std::string, RollbackState> rollbacks_;
  uint64_t highest_number_ = 0;
};

// JSON form of a rollback's state, for status output, the HTTP API and stored projections.
nlohmann::json RollbackToJson(const RollbackState& state);

// Returns the rollback number of "rb-<n>", or 0 when the id has another form.
uint64_t RollbackNumber(const std::string& id);

}  // namespace rollbook::projections
