// `rollbook serve`: owns the ledger and serves the HTTP audit API.
#pragma once

namespace CLI {
class App;
}

namespace rollbook::cli {

struct GlobalOptions;

// Registers `serve` on `app`. `options` outlives the parse and the run.
void AddServeCommand(CLI::App& app, GlobalOptions& options);

}  // namespace rollbook::cli
