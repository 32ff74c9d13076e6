// `rollbook replay`: rebuilds projections, or evaluates one as of a past position or time.
#pragma once

namespace CLI {
class App;
}

namespace rollbook::cli {

struct GlobalOptions;

// Registers `replay` on `app`. `options` outlives the parse and the run.
void AddReplayCommand(CLI::App& app, GlobalOptions& options);

}  // namespace rollbook::cli
