// Lossless JSON form of RollbackState, for the rollbacks projection's stored entries.
// RollbackToJson (rollback_state.h) is the presentation form and leaves fields out. This form
// keeps every field, so a loaded state folds on exactly as the live one would.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "ledger/status.h"
#include "projections/rollback_state.h"

namespace rollbook::projections {

nlohmann::json RollbackToStorageJson(const RollbackState& state);

// Fails with kCorruption naming the missing or mistyped field.
Result<RollbackState> RollbackFromStorageJson(const nlohmann::json& json);

}  // namespace rollbook::projections
