// Subcommands that drive rollbacks: start, status, cancel, retry, skip, resume, runbook, backups.
#pragma once

namespace CLI {
class App;
}

namespace rollbook::cli {

struct GlobalOptions;

// Registers the rollback subcommands on `app`. `options` outlives the parse and the run.
void AddRollbackCommands(CLI::App& app, GlobalOptions& options);

}  // namespace rollbook::cli
