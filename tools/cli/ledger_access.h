// Ledger location and opening modes for the CLI commands.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "ledger/ledger.h"
#include "tools/cli/cli.h"

namespace rollbook::cli {

enum class LedgerAccess {
  kReadOnly,  // a snapshot taken at open time; works while another process owns the ledger
  kWrite,     // takes the single-writer lock; fails with kBusy naming the owner's pid
};

// Returns $XDG_DATA_HOME/rollbook, else $HOME/.local/share/rollbook, else an empty string.
std::string DefaultLedgerDirectory();

// Returns the name of the effective OS user, or "uid-<n>" when it has no passwd entry.
std::string DefaultActor();

// Builds the ledger options for `command` (such as "note") from the global options.
ledger::Options LedgerOptions(const GlobalOptions& options, LedgerAccess access,
                              std::string_view command);

// Opens the ledger named by the global options.
Result<std::unique_ptr<ledger::Ledger>> OpenLedger(const GlobalOptions& options,
                                                   LedgerAccess access, std::string_view command);

}  // namespace rollbook::cli
