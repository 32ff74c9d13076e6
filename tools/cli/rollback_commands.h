// Subcommands that drive rollbacks: start, status, cancel, retry, skip, resume, runbook, backups.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

namespace CLI {
class App;
}

namespace rollbook::cli {

struct GlobalOptions;

// Registers the rollback subcommands on `app`. `options` outlives the parse and the run.
void AddRollbackCommands(CLI::App& app, GlobalOptions& options);

// Runs an operator command (start, cancel, retry, skip, resume, note) through the one command
// path: in this process when the ledger is free, else through the owner's command socket.
// With `follow`, progress lines of the named rollback are printed until it completes. With
// `monitor` too, a rollback this process ran to success is then monitored by the runbook's
// `monitor:` section. Returns an exit status.
int RunOperatorCommand(GlobalOptions& options, const std::string& command,
                       const nlohmann::json& args, bool follow, bool monitor = false);

}  // namespace rollbook::cli
