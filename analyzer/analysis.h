// Post-rollback analysis: what `rollbook analyze` and `rollbook report` show about one rollback,
// computed by replaying the rollback's events from the ledger.
//
// Determinism. An analysis depends only on the ledger's events: it never reads the wall clock,
// and every list is ordered by ledger position or plan order. Analyzing the same ledger twice
// gives identical values, so the rendered output is byte-identical.
//
// Gate findings are computed from the events alone, independently of the orchestrator, so that
// they also catch violations in a ledger written by another program or an older version.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ledger/ledger.h"
#include "ledger/status.h"
#include "projections/rollback_state.h"

namespace rollbook::analyzer {

// One event of the rollback, in words. Offsets count from the rollback's request event.
struct TimelineEntry {
  uint64_t position = 0;
  int64_t recorded_at_ns = 0;
  int64_t offset_ms = 0;
  std::string actor;
  std::string type;     // the payload member, such as "stepFailed"
  std::string subject;  // "component/step", a component name, a probe, or empty
  std::string text;
};

struct StepReport {
  std::string component;
  std::string name;
  std::string driver;
  std::string action;
  std::string role;
  bool mutates = false;
  std::string status;  // projections::StepStatusName()
  uint32_t attempts = 0;
  int64_t started_offset_ms = -1;   // first start; -1 when the step never started
  int64_t finished_offset_ms = -1;  // last outcome; -1 when it has none
  int64_t duration_ms = 0;          // sum of the recorded attempt durations
  uint64_t budget_ms = 0;           // 0 when the runbook set none
  bool over_budget = false;         // duration_ms > budget_ms
  bool critical = false;            // its component is on the critical path
  std::string last_error;
};

struct ComponentReport {
  std::string name;
  std::vector<std::string> after;
  std::string status;  // projections::ComponentStatusName()
  int64_t started_offset_ms = -1;
  int64_t finished_offset_ms = -1;
  int64_t duration_ms = 0;  // componentStarted to componentCompleted
  uint64_t budget_ms = 0;
  bool over_budget = false;
  bool critical = false;
  std::vector<StepReport> steps;
};

// One failed attempt of a step.
struct FailureReport {
  uint64_t position = 0;
  int64_t offset_ms = 0;
  std::string component;
  std::string step;
  uint32_t attempt = 0;
  std::string error;
  std::string error_code;
  std::string host;
  bool will_retry = false;
  int64_t duration_ms = 0;
};

// A step that was skipped or whose outcome is unknown, with the reason recorded.
struct StepEventReport {
  uint64_t position = 0;
  int64_t offset_ms = 0;
  std::string component;
  std::string step;
  std::string actor;
  std::string reason;
};

struct CancellationReport {
  uint64_t position = 0;
  int64_t offset_ms = 0;
  std::string actor;
  std::string reason;
};

// A violated rule found in the events, such as a mutation that ran before any backup.
struct Finding {
  std::string rule;      // stable id such as "mutation-without-backup"
  std::string severity;  // "error", "warning" or "info"
  std::string subject;
  std::string message;
  std::vector<uint64_t> positions;  // the events that show it
};

// Advice from one of the documented rules (see docs/rollback-procedures.md).
struct Recommendation {
  std::string rule;
  std::string subject;
  std::string text;
  std::vector<uint64_t> positions;  // the events that triggered the rule
};

struct NotificationReport {
  uint64_t position = 0;
  int64_t offset_ms = 0;
  std::string channel;
  std::string trigger;
  bool delivered = false;
  uint32_t status_code = 0;
  uint32_t attempts = 0;
  std::string error;
};

struct NoteReport {
  uint64_t position = 0;
  int64_t offset_ms = 0;
  int64_t recorded_at_ns = 0;
  std::string actor;
  std::string component;
  std::string text;
};

struct AlertReport {
  uint64_t position = 0;
  int64_t offset_ms = 0;
  bool breached = false;  // false for a recovery
  std::string probe;
  std::string threshold;
  double value = 0;
  std::string decision;
};

struct MonitorReport {
  bool ran = false;  // any monitoring event was recorded
  uint64_t started_position = 0;
  int64_t started_offset_ms = 0;
  uint64_t planned_duration_ms = 0;
  std::vector<std::string> probes;
  uint64_t samples = 0;
  uint64_t failed_samples = 0;
  bool completed = false;
  bool interrupted = false;
  int64_t completed_offset_ms = -1;
  std::string summary;
  std::vector<AlertReport> alerts;
};

struct ActionItem {
  std::string id;  // "ai-<n>"
  std::string rollback_id;
  std::string kind;  // "action" or "lesson"
  std::string text;
  std::string owner;
  int64_t due_at_ns = 0;  // 0 when none
  std::string added_by;
  uint64_t position = 0;
  int64_t recorded_at_ns = 0;
  bool resolved = false;
  std::string resolution;
  std::string resolved_by;
  uint64_t resolved_position = 0;
  int64_t resolved_at_ns = 0;
};

struct EarlierRollback {
  std::string id;
  int64_t requested_at_ns = 0;
  std::string scope;
  std::string outcome;
  int64_t duration_ms = 0;
  std::vector<std::string> failed_steps;  // "component/step", sorted
};

// A step that failed in this rollback and in earlier ones of the same feature and environment.
struct RecurringFailure {
  std::string step;                    // "component/step"
  std::vector<std::string> rollbacks;  // earlier rollback ids, oldest first
};

// Earlier rollbacks are those completed before this one with the same feature, environment and
// kind (drill or not; dry runs never count). Durations are compared within the same scope only.
struct Comparison {
  std::vector<EarlierRollback> earlier;  // oldest first
  size_t same_scope = 0;                 // how many of `earlier` had this rollback's scope
  int64_t mean_duration_ms = 0;          // of the same-scope ones; 0 when there are none
  int64_t previous_duration_ms = 0;      // of the latest same-scope one
  // "faster", "slower", "about the same" (within 10%), "not completed" or
  // "no earlier rollbacks of this scope".
  std::string trend;
  int64_t change_percent = 0;  // this duration against the mean, rounded
  std::vector<RecurringFailure> recurring;
};

struct Analysis {
  projections::RollbackState rollback;  // the folded state at the end of the ledger
  uint64_t ledger_head = 0;             // the last position replayed
  int64_t duration_ms = 0;              // request to completion; to the last event if active
  bool over_budget = false;

  std::vector<TimelineEntry> timeline;
  std::vector<ComponentReport> components;  // plan order
  std::vector<std::string> critical_path;   // component names, first to last
  int64_t critical_path_ms = 0;

  std::vector<FailureReport> failures;
  uint32_t retries = 0;  // failed attempts that were retried automatically
  std::vector<StepEventReport> skipped;
  std::vector<StepEventReport> outcome_unknown;
  std::vector<CancellationReport> cancellations;
  std::vector<Finding> findings;
  std::vector<NotificationReport> notifications;
  MonitorReport monitor;
  std::vector<NoteReport> notes;
  std::vector<ActionItem> action_items;  // actions and lessons, by position
  Comparison comparison;
  std::vector<Recommendation> recommendations;
};

// Replays the ledger and analyzes rollback `rollback_id`. Fails with kNotFound when the ledger
// has no such rollback, and with the ledger's error when a read or decode fails.
Result<Analysis> AnalyzeRollback(ledger::Ledger& ledger, const std::string& rollback_id);

// Returns the action items of every rollback (or of one, when `rollback_id` is set), by
// position, by replaying the ledger.
Result<std::vector<ActionItem>> ListActionItems(ledger::Ledger& ledger,
                                                const std::string& rollback_id = "");

}  // namespace rollbook::analyzer
