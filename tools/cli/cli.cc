#include "tools/cli/cli.h"

#include <CLI/CLI.hpp>

namespace rollbook::cli {

int Run(int argc, char** argv) {
  CLI::App app{"rollbook: event-sourced audit and rollback ledger"};
  CLI11_PARSE(app, argc, argv);
  return kExitOk;
}

}  // namespace rollbook::cli
