// The single path by which operators change anything: start, cancel, retry, skip, resume, note.
//
// The CLI (in the process that owns the ledger), the command socket (from other rollbook
// processes) and the HTTP server's POST /v1/commands all call Execute(). Every command becomes
// events in the ledger; an idempotency key makes a retried request return the first result.
//
// Commands and their arguments (a JSON object):
//   start   {reason, scope?, environment?, mode?, target_time?, dry_run?, drill?, runbook?}
//   cancel  {rollback_id, reason?}
//   retry   {rollback_id, step}            step as "component/step", or a step name unique in
//   skip    {rollback_id, step, reason}    the rollback
//   resume  {rollback_id}
//   note    {text, rollback_id? | stream?, component?}
// The result is a JSON object with "positions" [first, last] and, where it applies,
// "rollback_id".
#pragma once

#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "ledger/status.h"

namespace rollbook::commands {

struct CommandRequest {
  std::string command;
  const nlohmann::json* args = nullptr;
  std::string actor;
  std::string idempotency_key;  // optional
};

// A command the orchestrator does not implement itself, such as the analyzer's action items,
// added by the program that runs it. It runs on the caller's thread, with the request's actor.
using ExtraCommand = std::function<Result<nlohmann::json>(const CommandRequest& request)>;

class CommandService {
 public:
  virtual ~CommandService() = default;
  // Errors: kInvalidArgument (bad command or argument, named), kNotFound (rollback),
  // kConflict (another active rollback, or a step not in a state that allows the command).
  virtual Result<nlohmann::json> Execute(const CommandRequest& request) = 0;
};

}  // namespace rollbook::commands
