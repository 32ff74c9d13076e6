#include "tools/cli/operator_output.h"

#include <iostream>
#include <nlohmann/json.hpp>

#include "tools/cli/cli.h"
#include "tools/cli/exit_status.h"

namespace rollbook::cli {

using nlohmann::json;

int ExitForRollback(const json& state) {
  return state.value("outcome", "") == "succeeded" ? kExitOk : kExitFailed;
}

void PrintResult(const GlobalOptions& options, const std::string& command, const json& result) {
  if (options.json) {
    std::cout << result.dump() << "\n";
    return;
  }
  if (result.contains("message") && result["message"].is_string()) {
    std::cout << result["message"].get<std::string>() << "\n";
    return;
  }
  std::string id = result.value("rollback_id", "");
  auto positions = result.value("positions", json::array());
  std::cout << command << (id.empty() ? "" : " " + id) << " recorded";
  if (positions.size() == 2) std::cout << " at position " << positions[1].get<uint64_t>();
  std::cout << "\n";
}

void PrintFinalState(const GlobalOptions& options, const json& state) {
  if (options.json) {
    std::cout << state.dump() << "\n";
    return;
  }
  std::cout << state.value("id", "") << " " << state.value("outcome", "") << " after "
            << state.value("duration_ms", 0) << " ms\n";
}

}  // namespace rollbook::cli
