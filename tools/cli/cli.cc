#include "tools/cli/cli.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <exception>

#include "tools/cli/analysis_commands.h"
#include "tools/cli/exit_status.h"
#include "tools/cli/ledger_access.h"
#include "tools/cli/ledger_commands.h"
#include "tools/cli/replay_command.h"
#include "tools/cli/rollback_commands.h"
#include "tools/cli/serve_command.h"
#include "tools/cli/token_command.h"

namespace rollbook::cli {
namespace {

constexpr const char* kExitStatusHelp =
    "Exit status:\n"
    "  0  success; verify found the chain intact\n"
    "  1  the operation failed: broken chain, failed import or rollback\n"
    "  2  invalid command line or input value\n"
    "  3  ledger, rollback or event not found\n"
    "  4  the ledger is owned by another process (the message names its pid)\n"
    "  5  conflict: the ledger or target already exists, version conflict, active rollback\n"
    "  6  storage or operating-system failure\n";

// Sends every log line to stderr, so stdout carries only command output.
void InstallStderrLogger() {
  auto logger = spdlog::get("rollbook");
  if (!logger) logger = spdlog::stderr_color_mt("rollbook");
  logger->set_level(spdlog::level::warn);
  spdlog::set_default_logger(logger);
}

void AddGlobalOptions(CLI::App& app, GlobalOptions& options) {
  options.ledger_dir = DefaultLedgerDirectory();
  options.actor = DefaultActor();
  // A repeated global option keeps its last value, so wrappers can prepend defaults.
  constexpr auto kTakeLast = CLI::MultiOptionPolicy::TakeLast;
  app.add_option("--ledger", options.ledger_dir, "Ledger directory")
      ->envname("ROLLBOOK_LEDGER")
      ->multi_option_policy(kTakeLast)
      ->capture_default_str();
  app.add_flag("--json", options.json, "Print JSON (JSON Lines for event listings)");
  app.add_option("--log-level", options.log_level, "Log level for messages on stderr")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->multi_option_policy(kTakeLast)
      ->capture_default_str();
  app.add_option("--actor", options.actor, "Name recorded as the actor of new events")
      ->multi_option_policy(kTakeLast)
      ->capture_default_str();
  app.add_option("--server", options.server_url,
                 "Send operator commands (start, cancel, retry, skip, resume, note, action, "
                 "monitor) to this `rollbook serve` URL, with the token in ROLLBOOK_TOKEN")
      ->envname("ROLLBOOK_SERVER")
      ->multi_option_policy(kTakeLast);
  app.add_flag("--no-sync", options.no_sync,
               "Do not fsync appends (tests and benchmarks only: an OS crash or power loss can "
               "lose acknowledged events)");
}

int ExitForParseError(const CLI::App& app, const CLI::ParseError& error) {
  // Help and version requests are parse "errors" in CLI11 that print and succeed.
  if (error.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(error);
  return ReportFailure(kExitUsage,
                       std::string(error.what()) + "\nRun `rollbook --help` for the usage.");
}

int ParseAndRun(int argc, char** argv) {
  GlobalOptions options;
  CLI::App app{"rollbook: an event-sourced audit and rollback ledger", "rollbook"};
  app.footer(kExitStatusHelp);
  // Global options may follow the subcommand name, as in `rollbook log --json`.
  app.fallthrough();
  app.require_subcommand(1);
  AddGlobalOptions(app, options);
  AddLedgerCommands(app, options);
  AddRollbackCommands(app, options);
  AddServeCommand(app, options);
  AddReplayCommand(app, options);
  AddTokenCommand(app, options);
  AddAnalysisCommands(app, options);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return ExitForParseError(app, error);
  }
  spdlog::set_level(spdlog::level::from_str(options.log_level));
  if (!options.action) {
    return ReportFailure(kExitUsage, "the subcommand has nothing to run; see `rollbook --help`");
  }
  return options.action();
}

}  // namespace

void SetAction(CLI::App& command, GlobalOptions& options, std::function<int()> action) {
  command.callback([&options, action = std::move(action)] { options.action = action; });
}

int Run(int argc, char** argv) {
  try {
    InstallStderrLogger();
    return ParseAndRun(argc, argv);
  } catch (const std::exception& error) {
    return ReportFailure(kExitFailed, std::string("unexpected error: ") + error.what() +
                                          "; run again with --log-level debug and report it");
  } catch (...) {
    return ReportFailure(kExitFailed, "unexpected error of unknown type; report it");
  }
}

}  // namespace rollbook::cli
