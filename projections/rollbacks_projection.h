// The `rollbacks` projection: RollbackFold's state of every rollback, kept by the runner.
//
// Stored entries (column family "rollbacks"): "rb/" id -> the rollback's state as
// RollbackToStorageJson. A commit rewrites only the rollbacks that changed since the last one.
#pragma once

#include <set>
#include <string>

#include "projections/projection.h"
#include "projections/rollback_state.h"

namespace rollbook::projections {

class RollbacksProjection final : public Projection {
 public:
  static constexpr std::string_view kName = "rollbacks";

  std::string_view name() const override { return kName; }
  uint32_t format_version() const override { return 1; }
  void Apply(const ledger::RecordedEvent& event) override;
  Status Save(StateWriter& writer) override;
  Status Load(StateReader& reader) override;
  // {"rollbacks": [RollbackToJson(state), ...]} in request order.
  nlohmann::json ToJson() const override;
  std::unique_ptr<Projection> NewDetached() const override;

  const RollbackFold& fold() const { return fold_; }

 private:
  RollbackFold fold_;
  std::set<std::string> changed_;  // ids of rollbacks changed since the last Save()
};

}  // namespace rollbook::projections
