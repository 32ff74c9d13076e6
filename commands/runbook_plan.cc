// BuildPlan: from a validated runbook to the ordered, variable-substituted steps of one rollback.
#include <algorithm>
#include <charconv>

#include "commands/runbook_internal.h"

namespace rollbook::commands {
namespace {

using runbook_internal::JoinNames;
using runbook_internal::SuggestFrom;

std::string Quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

template <typename Map>
std::vector<std::string> Keys(const Map& map) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : map) keys.push_back(key);
  return keys;
}

// Converts a substituted integer or boolean parameter from its string form.
Status ConvertDeferred(nlohmann::json& params, const StepSpec& step,
                       const std::string& environment) {
  for (const auto& [name, type] : step.deferred_param_types) {
    if (!params.contains(name) || !params[name].is_string()) continue;
    std::string text = params[name].get<std::string>();
    if (type == ParamType::kBoolean && (text == "true" || text == "false")) {
      params[name] = text == "true";
      continue;
    }
    int64_t value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (type == ParamType::kInteger && error == std::errc() && end == text.data() + text.size()) {
      params[name] = value;
      continue;
    }
    return InvalidArgument("parameter " + Quoted(name) + " of step " + Quoted(step.name) +
                           " must be " + std::string(runbook_internal::ParamTypeName(type)) +
                           ", but in environment " + Quoted(environment) + " it is " +
                           Quoted(text) + ": fix the variable's value");
  }
  return Status::Ok();
}

Result<StepSpec> PlanStep(const StepSpec& spec, const std::map<std::string, std::string>& vars,
                          const std::string& environment) {
  StepSpec step = spec;
  nlohmann::json params = nlohmann::json::parse(spec.params_json.empty() ? "{}" : spec.params_json,
                                                nullptr, /*allow_exceptions=*/false);
  if (params.is_discarded() || !params.is_object()) {
    return InvalidArgument("step " + Quoted(spec.name) +
                           " has parameters that are not a JSON object: " + spec.params_json);
  }
  Status status = runbook_internal::SubstituteInJson(params, vars, environment);
  if (status.ok()) status = ConvertDeferred(params, spec, environment);
  if (!status.ok()) return status.WithContext("step " + Quoted(spec.name));
  step.params_json = params.dump();
  step.deferred_param_types.clear();
  return step;
}

// Picks the step list of `component` for the requested mode.
Result<const std::vector<StepSpec>*> SelectSteps(const ComponentSpec& component,
                                                 const std::string& mode, std::string& used_mode) {
  if (component.modes.empty()) {
    used_mode.clear();
    return &component.steps;
  }
  used_mode = mode.empty() ? component.default_mode : mode;
  if (used_mode.empty()) return &component.steps;
  auto found = component.modes.find(used_mode);
  if (found == component.modes.end()) {
    return NotFound("component " + Quoted(component.name) + " has no mode " + Quoted(used_mode) +
                    ": " + SuggestFrom(used_mode, Keys(component.modes), "modes"));
  }
  return &found->second;
}

Result<PlannedComponentSpec> PlanComponent(const ComponentSpec& component,
                                           const std::set<std::string>& members,
                                           const std::string& mode,
                                           const std::map<std::string, std::string>& vars,
                                           const std::string& environment) {
  PlannedComponentSpec planned;
  planned.name = component.name;
  planned.budget_ms = component.budget_ms;
  planned.description = component.description;
  for (const std::string& dependency : component.after) {
    if (members.contains(dependency)) planned.after.push_back(dependency);
  }

  Result<const std::vector<StepSpec>*> steps = SelectSteps(component, mode, planned.mode);
  if (!steps.ok()) return steps.status();
  for (const StepSpec& spec : **steps) {
    Result<StepSpec> step = PlanStep(spec, vars, environment);
    if (!step.ok()) return step.status().WithContext("component " + Quoted(component.name));
    planned.steps.push_back(std::move(*step));
  }
  return planned;
}

// Returns the scope's own budget if it has one. Otherwise a plan of every component gets the
// runbook's budget, and a partial plan the sum of its component budgets (or the runbook's budget
// when none of them has one).
uint64_t PlanBudget(const Runbook& runbook, const std::string& scope, const Plan& plan) {
  if (auto found = runbook.scope_budgets_ms.find(scope); found != runbook.scope_budgets_ms.end()) {
    return found->second;
  }
  if (plan.components.size() == runbook.components.size()) return runbook.budget_ms;
  uint64_t sum = 0;
  for (const PlannedComponentSpec& component : plan.components) sum += component.budget_ms;
  return sum > 0 ? sum : runbook.budget_ms;
}

}  // namespace

Result<Plan> BuildPlan(const Runbook& runbook, const std::string& scope,
                       const std::string& environment, const std::string& mode) {
  Plan plan;
  plan.feature = runbook.feature;
  plan.environment = environment;
  plan.scope = scope.empty() ? "full" : scope;
  plan.mode = mode;
  plan.runbook_path = runbook.path;
  plan.runbook_sha256 = runbook.sha256;

  auto members_found = runbook.scopes.find(plan.scope);
  if (members_found == runbook.scopes.end()) {
    return NotFound("unknown scope " + Quoted(plan.scope) + ": " +
                    SuggestFrom(plan.scope, Keys(runbook.scopes), "scopes"));
  }
  auto vars_found = runbook.environments.find(environment);
  if (vars_found == runbook.environments.end()) {
    return NotFound((environment.empty() ? std::string("no environment given")
                                         : "unknown environment " + Quoted(environment)) +
                    ": " + SuggestFrom(environment, Keys(runbook.environments), "environments"));
  }
  Result<std::map<std::string, std::string>> vars =
      runbook_internal::ExpandEnvironment(vars_found->second, environment);
  if (!vars.ok()) return vars.status();

  std::set<std::string> members(members_found->second.begin(), members_found->second.end());
  if (!mode.empty() && std::none_of(runbook.components.begin(), runbook.components.end(),
                                    [&](const ComponentSpec& c) {
                                      return members.contains(c.name) && !c.modes.empty();
                                    })) {
    return InvalidArgument("mode " + Quoted(mode) + " does not apply: no component in scope " +
                           Quoted(plan.scope) + " has modes; drop --mode");
  }

  Result<std::vector<std::string>> order = runbook_internal::TopologicalOrder(runbook, members);
  if (!order.ok()) return order.status();
  for (const std::string& name : *order) {
    const ComponentSpec& component =
        *std::find_if(runbook.components.begin(), runbook.components.end(),
                      [&](const ComponentSpec& c) { return c.name == name; });
    Result<PlannedComponentSpec> planned =
        PlanComponent(component, members, mode, *vars, environment);
    if (!planned.ok()) return planned.status();
    plan.components.push_back(std::move(*planned));
  }

  for (NotificationSpec notification : runbook.notifications) {
    Result<std::string> url =
        runbook_internal::SubstituteVariables(notification.url, *vars, environment);
    if (!url.ok()) return url.status().WithContext("notification " + Quoted(notification.name));
    notification.url = *url;
    plan.notifications.push_back(std::move(notification));
  }
  plan.budget_ms = PlanBudget(runbook, plan.scope, plan);
  return plan;
}

}  // namespace rollbook::commands
