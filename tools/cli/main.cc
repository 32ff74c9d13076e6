// rollbook: the command-line front end.
#include <CLI/CLI.hpp>

#include "tools/cli/cli.h"

int main(int argc, char** argv) { return rollbook::cli::Run(argc, argv); }
