// The rollbook command line: global options, exit statuses and subcommand registration.
//
// A subcommand registers its CLI11 options and calls SetAction(); Run() parses the whole command
// line first and only then runs the chosen action, so global options given after the subcommand
// name (`rollbook log --json`) are already set when the action starts.
#pragma once

#include <functional>
#include <string>

namespace CLI {
class App;
}

namespace rollbook::cli {

// Exit statuses, documented in --help and the README.
enum ExitCode : int {
  kExitOk = 0,
  kExitFailed = 1,    // the operation ran and failed: broken chain, failed rollback
  kExitUsage = 2,     // bad command line or runbook
  kExitNotFound = 3,  // ledger, rollback or event not found
  kExitBusy = 4,      // the ledger is owned by another process that could not be reached
  kExitConflict = 5,  // version conflict, existing ledger or target, another active rollback
  kExitIo = 6,        // storage or operating-system failure
};

struct GlobalOptions {
  std::string ledger_dir;          // --ledger, ROLLBOOK_LEDGER, or the XDG data directory
  bool json = false;               // print machine-readable JSON instead of text
  std::string log_level = "warn";  // spdlog level name; logs go to stderr
  std::string actor;               // who is acting; defaults to the OS user name
  bool no_sync = false;            // appends skip the WAL fsync (tests and benchmarks only)
  std::string server_url;          // --server, ROLLBOOK_SERVER: send operator commands there

  // The chosen subcommand's work, set by SetAction() during parsing; returns an ExitCode.
  std::function<int()> action;
};

// Makes `command` run `action` after a successful parse; Run() returns the action's result.
// `options` must outlive the parse, and `action` must not throw for expected failures.
void SetAction(CLI::App& command, GlobalOptions& options, std::function<int()> action);

// Parses the command line, runs the chosen subcommand and returns its exit status. Never throws:
// CLI11 parse errors return kExitUsage, and an unexpected exception returns kExitFailed.
int Run(int argc, char** argv);

}  // namespace rollbook::cli
