// Mapping of ledger and command failures to exit statuses and error output.
#pragma once

#include <string_view>

#include "ledger/status.h"
#include "tools/cli/cli.h"

namespace rollbook::cli {

// Returns the exit status for a failure code: kBusy -> kExitBusy, kNotFound -> kExitNotFound,
// and so on; kOk returns kExitOk.
ExitCode ExitCodeFor(StatusCode code);

// Prints "rollbook: <message>" to stderr and returns ExitCodeFor(status.code()).
// REQUIRES: !status.ok().
int ReportFailure(const Status& status);

// Prints "rollbook: <message>" to stderr for a failure found by the CLI itself and returns `code`.
int ReportFailure(ExitCode code, std::string_view message);

}  // namespace rollbook::cli
