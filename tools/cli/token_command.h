// `rollbook token add|list|remove`: bearer tokens for `rollbook serve`.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace rollbook::cli {

struct GlobalOptions;

// Registers `token` and its subcommands on `app`. `options` outlives the parse and the run.
void AddTokenCommand(CLI::App& app, GlobalOptions& options);

// Returns "<ledger directory>/tokens.json", the tokens file used when --tokens is not given.
std::string DefaultTokensFile(const GlobalOptions& options);

}  // namespace rollbook::cli
