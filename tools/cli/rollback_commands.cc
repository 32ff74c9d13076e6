#include "tools/cli/rollback_commands.h"

#include <CLI/CLI.hpp>

#include "tools/cli/cli.h"

namespace rollbook::cli {

void AddRollbackCommands(CLI::App& app, GlobalOptions& options) {
  (void)app;
  (void)options;
}

}  // namespace rollbook::cli
