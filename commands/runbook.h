// Runbooks: the YAML description of how to roll a feature back, and the plan built from one.
//
// A runbook names a feature, its environments and their variables, its components with ordered
// steps (and optional modes: named alternative step lists), and scopes that select components.
// LoadRunbook() parses and validates; BuildPlan() picks the components of a scope, the steps of
// a mode, and substitutes ${vars.NAME}. Secret references (${env:NAME}, ${file:PATH}) stay
// unresolved in the plan, because the plan is recorded in the ledger.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "commands/driver.h"
#include "ledger/status.h"

namespace rollbook::commands {

// Where a runbook element was written, for error messages. Line and column count from 1.
struct SourceLocation {
  std::string file;
  int line = 0;
  int column = 0;
};

// One validation problem: where, what is wrong, and how to fix it.
struct RunbookProblem {
  SourceLocation location;
  std::string message;
  std::string fix;
  std::string ToString() const;  // "file:line:column: message (fix)"
};

struct StepSpec {
  std::string name;
  std::string driver;
  std::string action;
  std::string params_json;  // the step's driver parameters as a JSON object, references unresolved
  uint64_t timeout_ms = 60000;
  uint32_t retries = 0;
  uint64_t backoff_ms = 1000;  // first retry delay; doubles after each retry
  uint64_t budget_ms = 0;      // 0 when the step has no budget
  StepRole role = StepRole::kOther;
  bool mutates = false;
  bool idempotent = false;
  SourceLocation location;
};

struct ComponentSpec {
  std::string name;
  std::vector<std::string> after;
  uint64_t budget_ms = 0;
  std::vector<StepSpec> steps;                        // the default step list
  std::map<std::string, std::vector<StepSpec>> modes;  // named alternatives, such as "safe"
  std::string default_mode;                           // mode used when none is given, if any
  SourceLocation location;
};

struct NotificationSpec {
  std::string name;
  std::string kind;  // "slack" or "webhook"
  std::string url;   // usually a secret reference such as ${env:SLACK_WEBHOOK_URL}
  std::vector<std::string> on;  // "start", "completion", "failure", "alert"
};

struct Runbook {
  std::string path;
  std::string sha256;  // hex digest of the file's bytes
  std::string feature;
  std::string description;
  uint64_t budget_ms = 0;
  std::map<std::string, std::map<std::string, std::string>> environments;  // env -> vars
  std::vector<ComponentSpec> components;  // in file order
  std::map<std::string, std::vector<std::string>> scopes;  // includes the predefined ones
  std::vector<NotificationSpec> notifications;
  std::string monitor_json;  // the `monitor:` section as JSON, empty when absent
};

struct PlannedComponentSpec {
  std::string name;
  std::vector<std::string> after;  // only dependencies inside the plan
  uint64_t budget_ms = 0;
  std::string mode;
  std::vector<StepSpec> steps;  // params_json with ${vars.NAME} substituted
};

struct Plan {
  std::string feature;
  std::string environment;
  std::string scope;
  std::string mode;
  uint64_t budget_ms = 0;
  std::vector<PlannedComponentSpec> components;  // topologically ordered by `after`
};

// Parses and validates the runbook at `path` against the drivers in `registry`. On failure the
// status message lists every problem, one per line, each as RunbookProblem::ToString().
Result<Runbook> LoadRunbook(const std::string& path, const DriverRegistry& registry);

// Same, from text; `path` is used in messages only.
Result<Runbook> ParseRunbook(const std::string& text, const std::string& path,
                             const DriverRegistry& registry);

// Builds the plan for a scope, environment and mode. An empty mode picks each component's
// default mode, or its plain step list. Fails naming the unknown scope, environment or mode and
// listing the known ones.
Result<Plan> BuildPlan(const Runbook& runbook, const std::string& scope,
                       const std::string& environment, const std::string& mode);

// Returns the path to use: `flag_value`, else $ROLLBOOK_RUNBOOK, else "./rollbook.yaml".
std::string ResolveRunbookPath(const std::string& flag_value);

}  // namespace rollbook::commands
