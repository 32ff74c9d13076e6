#include "projections/rollback_codec.h"

#include <nlohmann/json.hpp>

namespace rollbook::projections {

// A field added to these structs must be added to the lists below, and
// RollbacksProjection::format_version() bumped, or stored states would lose it. The size checks
// catch a forgotten field at compile time on the supported platform (x86-64, libstdc++).
static_assert(sizeof(StepState) == 304, "StepState changed: update the field list below");
static_assert(sizeof(ComponentState) == 112, "ComponentState changed: update the field list below");
static_assert(sizeof(BackupSummary) == 248, "BackupSummary changed: update the field list below");
static_assert(sizeof(RollbackState) == 584, "RollbackState changed: update the field list below");

// Field lists for nlohmann's generated to_json/from_json. Enums are stored as their integer
// values, which are fixed because rollback_state.h only appends enumerators.
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(StepState, name, driver, action, role, mutates, idempotent,
                                   timeout_ms, retries, backoff_ms, budget_ms, params_json, status,
                                   attempts, started_at_ns, finished_at_ns, duration_ns, last_error,
                                   summary, last_position)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ComponentState, name, after, budget_ms, steps, status,
                                   started_at_ns, finished_at_ns)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(BackupSummary, backup_id, sha256, size_bytes, driver, origin,
                                   format, component, step, taken_at_ns, position)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(RollbackState, id, feature, environment, scope, mode, reason,
                                   actor, target_time_ns, dry_run, drill, runbook_path,
                                   runbook_sha256, budget_ms, notifications_json, monitor_json,
                                   status, outcome, requested_at_ns, started_at_ns, completed_at_ns,
                                   duration_ns, cancel_requested, cancel_reason, summary,
                                   requested_position, last_position, event_count, components,
                                   backups, notes)

nlohmann::json RollbackToStorageJson(const RollbackState& state) { return state; }

Result<RollbackState> RollbackFromStorageJson(const nlohmann::json& json) {
  try {
    return json.get<RollbackState>();
  } catch (const nlohmann::json::exception& e) {
    return Corruption("stored rollback state is not valid: " + std::string(e.what()));
  }
}

}  // namespace rollbook::projections
