// The `components` projection: what each component and each changed target (a flag, a key, a
// table) is now in each environment, and the position of the event that made it so.
//
// Components change on componentStarted, stepSucceeded and componentCompleted; targets on
// changeApplied, whose `after` value is the target's current value. Dry runs change nothing and
// are skipped; drills are kept, marked `drill`, under the environment they ran in.
//
// Stored entries (column family "components"), one JSON value each, written when changed:
// "rollback/<id>" -> the environment and kind of a rollback, which its later events need;
// "component/<environment>\0<name>" -> a component record; "target/<environment>\0<target>" ->
// a target record.
#pragma once

#include <map>
#include <set>
#include <string>
#include <utility>

#include "projections/projection.h"

namespace rollbook::projections {

class ComponentsProjection final : public Projection {
 public:
  static constexpr std::string_view kName = "components";

  std::string_view name() const override { return kName; }
  uint32_t format_version() const override { return 2; }
  void Apply(const ledger::RecordedEvent& event) override;
  Status Save(StateWriter& writer) override;
  Status Load(StateReader& reader) override;
  // {"components": [...], "targets": [...]}, each sorted by environment and name.
  nlohmann::json ToJson() const override;
  std::unique_ptr<Projection> NewDetached() const override;

  struct RollbackContext {
    std::string environment;
    bool drill = false;
    bool dry_run = false;
  };

  struct ComponentRecord {
    std::string environment;
    std::string name;
    std::string status;  // "running", or the outcome of the last componentCompleted
    std::string rollback_id;
    std::string last_step;  // last step that succeeded
    bool drill = false;
    uint64_t position = 0;  // the event that set the current state
    int64_t updated_at_ns = 0;
  };

  struct TargetRecord {
    std::string environment;
    std::string target;
    std::string value;     // changeApplied.after
    std::string previous;  // changeApplied.before
    std::string summary;
    std::string component;
    std::string step;
    std::string rollback_id;
    bool drill = false;
    uint64_t position = 0;
    int64_t updated_at_ns = 0;
  };

  using Key = std::pair<std::string, std::string>;  // environment, name
  const std::map<Key, ComponentRecord>& components() const { return components_; }
  const std::map<Key, TargetRecord>& targets() const { return targets_; }

 private:
  ComponentRecord* Touch(const ledger::RecordedEvent& event, const std::string& rollback_id,
                         const std::string& component);

  std::map<std::string, RollbackContext> rollbacks_;
  std::map<Key, ComponentRecord> components_;
  std::map<Key, TargetRecord> targets_;
  // Entries changed since the last Save().
  std::set<std::string> dirty_rollbacks_;
  std::set<Key> dirty_components_;
  std::set<Key> dirty_targets_;
};

}  // namespace rollbook::projections
