// Operator commands sent to a `rollbook serve` on another machine, over its HTTP API.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

namespace rollbook::cli {

struct GlobalOptions;

// Sends `command` with `args` to the server at options.server_url as POST /v1/commands, with the
// bearer token from ROLLBOOK_TOKEN. With `follow`, prints the rollback's progress from
// GET /v1/subscribe until it completes (reconnecting where the stream left off), then its final
// state from GET /v1/rollbacks/{id}. Returns an exit status: kExitBusy when the server cannot
// be reached, and the status of the failure the server reports otherwise.
int RunThroughServer(const GlobalOptions& options, const std::string& command,
                     const nlohmann::json& args, bool follow);

}  // namespace rollbook::cli
