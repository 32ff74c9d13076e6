// The rollbook command line: global options and subcommand registration.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace rollbook::cli {

// Exit statuses, documented in --help and the README.
enum ExitCode : int {
  kExitOk = 0,
  kExitFailed = 1,        // the operation ran and failed: broken chain, failed rollback
  kExitUsage = 2,         // bad command line or runbook
  kExitNotFound = 3,      // ledger, rollback or event not found
  kExitBusy = 4,          // the ledger is owned by another process that could not be reached
  kExitConflict = 5,      // version conflict or another active rollback
  kExitIo = 6,            // storage or operating-system failure
};

struct GlobalOptions {
  std::string ledger_dir;
  bool json = false;
  std::string log_level = "warn";
  std::string actor;
  bool no_sync = false;
};

int Run(int argc, char** argv);

}  // namespace rollbook::cli
