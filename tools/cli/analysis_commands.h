// Subcommands for after a rollback: analyze, report, comms, action, monitor and drill.
#pragma once

#include <map>
#include <string>

#include "commands/command_service.h"

namespace CLI {
class App;
}

namespace rollbook::ledger {
class Ledger;
}

namespace rollbook::projections {
struct RollbackState;
}

namespace rollbook::cli {

struct GlobalOptions;

// Registers the analysis subcommands on `app`. `options` outlives the parse and the run.
void AddAnalysisCommands(CLI::App& app, GlobalOptions& options);

// Runs the runbook's `monitor:` section for a rollback that just completed, printing breaches
// and the summary, and stopping early on Ctrl-C. Call it in the process that ran the rollback
// and owns `ledger`, after the rollback completed. `overrides` are the --set values the
// rollback was started with, applied over the environment's runbook variables. Does nothing
// when the rollback has no `monitor:` section or was a dry run. Returns an exit status: 0 when
// monitoring ended with every threshold passing or did not run. Drills are not monitored.
int MonitorCompletedRollback(const GlobalOptions& options, ledger::Ledger& ledger,
                             const projections::RollbackState& rollback,
                             const std::map<std::string, std::string>& overrides);

class BackgroundMonitors;

// Returns the action_add, action_done and monitor commands, for the orchestrator of a process
// that owns `ledger`, so that `rollbook action` and `rollbook monitor` reach that process. The
// monitor command runs in `monitors`. `ledger` and `monitors` must outlive the commands.
std::map<std::string, commands::ExtraCommand> OwnerCommands(ledger::Ledger& ledger,
                                                            BackgroundMonitors& monitors);

}  // namespace rollbook::cli
