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
#include <string_view>
#include <utility>
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
  std::string description;
  // Parameters declared integer or boolean whose value holds a ${vars.NAME} reference. They stay
  // strings in params_json until BuildPlan() substitutes the variable and converts the result.
  std::map<std::string, ParamType> deferred_param_types;
  SourceLocation location;
};

struct ComponentSpec {
  std::string name;
  std::vector<std::string> after;
  uint64_t budget_ms = 0;
  std::vector<StepSpec> steps;                         // the default step list
  std::map<std::string, std::vector<StepSpec>> modes;  // named alternatives, such as "safe"
  std::string default_mode;                            // mode used when none is given, if any
  std::string description;
  SourceLocation location;
};

struct NotificationSpec {
  std::string name;
  std::string kind;             // "slack" or "webhook"
  std::string url;              // usually a secret reference such as ${env:SLACK_WEBHOOK_URL}
  std::vector<std::string> on;  // "start", "completion", "failure", "alert"
};

struct Runbook {
  std::string path;
  std::string sha256;  // hex digest of the file's bytes
  std::string feature;
  std::string description;
  uint64_t budget_ms = 0;
  std::map<std::string, std::map<std::string, std::string>> environments;  // env -> vars
  std::vector<ComponentSpec> components;                                   // in file order
  std::map<std::string, std::vector<std::string>> scopes;  // includes the predefined ones
  std::vector<NotificationSpec> notifications;
  std::string monitor_json;  // the `monitor:` section as JSON, empty when absent
  std::map<std::string, uint64_t> scope_budgets_ms;       // scopes declared with a budget
  std::map<std::string, std::string> scope_descriptions;  // scopes declared with a description
};

struct PlannedComponentSpec {
  std::string name;
  std::vector<std::string> after;  // only dependencies inside the plan
  uint64_t budget_ms = 0;
  std::string mode;  // the mode whose steps were taken; empty for the plain list
  std::string description;
  std::vector<StepSpec> steps;  // params_json with ${vars.NAME} substituted
};

struct Plan {
  std::string feature;
  std::string environment;
  std::string scope;
  std::string mode;
  uint64_t budget_ms = 0;
  std::vector<PlannedComponentSpec> components;  // topologically ordered by `after`
  std::vector<NotificationSpec> notifications;   // url with ${vars.NAME} substituted
  std::string runbook_path;
  std::string runbook_sha256;
};

// Parses a duration: "500ms", "30s", "5m", "1h", a sequence such as "1m30s", or a bare integer
// meaning milliseconds. Fails naming the text and the accepted forms.
Result<uint64_t> ParseDurationMs(std::string_view text);

// Formats milliseconds in the largest units that are exact, such as "1m30s" or "250ms".
std::string FormatDuration(uint64_t ms);

// Parses and validates the runbook at `path` against the drivers in `registry`. On failure the
// status message lists every problem, one per line, each as RunbookProblem::ToString().
Result<Runbook> LoadRunbook(const std::string& path, const DriverRegistry& registry);

// Same, from text; `path` is used in messages only.
Result<Runbook> ParseRunbook(const std::string& text, const std::string& path,
                             const DriverRegistry& registry);

// Same, and also stores every problem in `problems` (sorted by line and column) when it is not
// null, for callers that print or count them.
Result<Runbook> ParseRunbook(const std::string& text, const std::string& path,
                             const DriverRegistry& registry, std::vector<RunbookProblem>* problems);

// Replaces variables of `environment` with the given values, as `--set NAME=VALUE` does. A value
// may itself hold ${vars.NAME} and secret references. Fails, changing nothing, when the
// environment or one of the names is unknown.
Status ApplyVariableOverrides(Runbook& runbook, const std::string& environment,
                              const std::map<std::string, std::string>& overrides);

// Splits "NAME=VALUE" into its two parts; fails when there is no "=" or the name is invalid.
Result<std::pair<std::string, std::string>> ParseVariableAssignment(std::string_view text);

// Builds the plan for a scope, environment and mode. An empty mode picks each component's
// default mode, or its plain step list. Fails naming the unknown scope, environment or mode and
// listing the known ones.
Result<Plan> BuildPlan(const Runbook& runbook, const std::string& scope,
                       const std::string& environment, const std::string& mode);

// Returns the resolved plan as text for people: components in order, each step with its driver,
// action, role, limits and parameters. Secret references appear as written.
std::string DescribePlan(const Plan& plan);

// Returns the plan as a JSON object, the form recorded in the ledger. `indent` < 0 writes one
// line; otherwise nested values are indented by that many spaces.
std::string PlanToJson(const Plan& plan, int indent = -1);

// Parses the output of PlanToJson(), for resuming a rollback from its recorded plan.
Result<Plan> PlanFromJson(const std::string& json);

// Returns the path to use: `flag_value`, else $ROLLBOOK_RUNBOOK, else "./rollbook.yaml".
std::string ResolveRunbookPath(const std::string& flag_value);

}  // namespace rollbook::commands
