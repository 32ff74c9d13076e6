// The ledger subcommands: init, info, log, note, verify, export, import and ledger-backup.
#pragma once

namespace CLI {
class App;
}

namespace rollbook::cli {

struct GlobalOptions;

// Registers every ledger subcommand on `app`. `options` outlives the parse and the run.
void AddLedgerCommands(CLI::App& app, GlobalOptions& options);

// The parts of AddLedgerCommands(), one per subcommand, in --help order.
void AddInitCommand(CLI::App& app, GlobalOptions& options);
void AddInfoCommand(CLI::App& app, GlobalOptions& options);
void AddLogCommand(CLI::App& app, GlobalOptions& options);
void AddNoteCommand(CLI::App& app, GlobalOptions& options);
void AddVerifyCommand(CLI::App& app, GlobalOptions& options);
void AddExportCommand(CLI::App& app, GlobalOptions& options);
void AddImportCommand(CLI::App& app, GlobalOptions& options);
void AddBackupCommand(CLI::App& app, GlobalOptions& options);

}  // namespace rollbook::cli
