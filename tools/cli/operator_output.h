// Output of operator commands, shared by the local, command-socket and HTTP routes.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

namespace rollbook::cli {

struct GlobalOptions;

// Returns the exit status of a finished rollback's state: 0 only when it succeeded.
int ExitForRollback(const nlohmann::json& state);

// Prints a command's result: "start rb-3 recorded at position 42", or the JSON with --json.
void PrintResult(const GlobalOptions& options, const std::string& command,
                 const nlohmann::json& result);

// Prints a finished rollback's outcome and duration, or its whole state with --json.
void PrintFinalState(const GlobalOptions& options, const nlohmann::json& state);

}  // namespace rollbook::cli
