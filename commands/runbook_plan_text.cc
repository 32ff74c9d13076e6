// Plans as text for people (DescribePlan) and as JSON for the ledger (PlanToJson, PlanFromJson).
#include "commands/runbook_internal.h"

namespace rollbook::commands {
namespace {

using runbook_internal::JoinNames;

std::string DescribeLimits(const StepSpec& step) {
  std::string text = "timeout " + FormatDuration(step.timeout_ms);
  if (step.retries > 0) {
    text += ", " + std::to_string(step.retries) + (step.retries == 1 ? " retry" : " retries") +
            " (backoff " + FormatDuration(step.backoff_ms) + ")";
  }
  if (step.budget_ms > 0) text += ", budget " + FormatDuration(step.budget_ms);
  return text;
}

std::string DescribeStep(size_t number, const StepSpec& step) {
  std::string text = "   " + std::to_string(number) + ". " + step.name + ": " + step.driver + " " +
                     step.action + " [" + std::string(StepRoleName(step.role)) +
                     (step.mutates ? ", mutates" : "") + (step.idempotent ? ", idempotent" : "") +
                     "] " + DescribeLimits(step) + "\n";
  if (!step.description.empty()) text += "        " + step.description + "\n";
  text += "        params: " + (step.params_json.empty() ? "{}" : step.params_json) + "\n";
  return text;
}

std::string DescribeComponent(size_t number, const PlannedComponentSpec& component) {
  std::string text = std::to_string(number) + ". " + component.name;
  if (!component.after.empty()) text += ", after " + JoinNames(component.after);
  if (!component.mode.empty()) text += ", mode " + component.mode;
  if (component.budget_ms > 0) text += " (budget " + FormatDuration(component.budget_ms) + ")";
  text += "\n";
  if (!component.description.empty()) text += "   " + component.description + "\n";
  for (size_t i = 0; i < component.steps.size(); ++i)
    text += DescribeStep(i + 1, component.steps[i]);
  return text;
}

nlohmann::json LocationToJson(const SourceLocation& location) {
  return {{"file", location.file}, {"line", location.line}, {"column", location.column}};
}

nlohmann::json StepToJson(const StepSpec& step) {
  nlohmann::json params = nlohmann::json::parse(step.params_json.empty() ? "{}" : step.params_json,
                                                nullptr, /*allow_exceptions=*/false);
  return {{"name", step.name},
          {"driver", step.driver},
          {"action", step.action},
          {"params", params.is_discarded() ? nlohmann::json(step.params_json) : params},
          {"timeout_ms", step.timeout_ms},
          {"retries", step.retries},
          {"backoff_ms", step.backoff_ms},
          {"budget_ms", step.budget_ms},
          {"role", StepRoleName(step.role)},
          {"mutates", step.mutates},
          {"idempotent", step.idempotent},
          {"description", step.description},
          {"location", LocationToJson(step.location)}};
}

StepSpec StepFromJson(const nlohmann::json& json) {
  StepSpec step;
  step.name = json.at("name").get<std::string>();
  step.driver = json.at("driver").get<std::string>();
  step.action = json.at("action").get<std::string>();
  step.params_json = json.value("params", nlohmann::json::object()).dump();
  step.timeout_ms = json.value("timeout_ms", step.timeout_ms);
  step.retries = json.value("retries", step.retries);
  step.backoff_ms = json.value("backoff_ms", step.backoff_ms);
  step.budget_ms = json.value("budget_ms", step.budget_ms);
  std::string role = json.value("role", std::string("other"));
  step.role = runbook_internal::ParseStepRole(role).value_or(StepRole::kOther);
  step.mutates = json.value("mutates", false);
  step.idempotent = json.value("idempotent", false);
  step.description = json.value("description", std::string());
  if (json.contains("location")) {
    const nlohmann::json& location = json.at("location");
    step.location.file = location.value("file", std::string());
    step.location.line = location.value("line", 0);
    step.location.column = location.value("column", 0);
  }
  return step;
}

}  // namespace

std::string DescribePlan(const Plan& plan) {
  std::string text = "Plan for feature " + plan.feature + ": scope " + plan.scope +
                     ", environment " + plan.environment + ", mode " +
                     (plan.mode.empty() ? "(each component's default)" : plan.mode) + "\n";
  text += "Budget: " + (plan.budget_ms > 0 ? FormatDuration(plan.budget_ms) : "none") + "\n";
  if (!plan.runbook_path.empty()) {
    text += "Runbook: " + plan.runbook_path + " (sha256 " + plan.runbook_sha256 + ")\n";
  }
  for (const NotificationSpec& notification : plan.notifications) {
    text += "Notify: " + notification.name + " (" + notification.kind + ") on " +
            JoinNames(notification.on) + "\n";
  }
  text += "\n";
  for (size_t i = 0; i < plan.components.size(); ++i) {
    text += DescribeComponent(i + 1, plan.components[i]);
  }
  return text;
}

std::string PlanToJson(const Plan& plan, int indent) {
  nlohmann::json components = nlohmann::json::array();
  for (const PlannedComponentSpec& component : plan.components) {
    nlohmann::json steps = nlohmann::json::array();
    for (const StepSpec& step : component.steps) steps.push_back(StepToJson(step));
    components.push_back({{"name", component.name},
                          {"after", component.after},
                          {"budget_ms", component.budget_ms},
                          {"mode", component.mode},
                          {"description", component.description},
                          {"steps", std::move(steps)}});
  }
  nlohmann::json notifications = nlohmann::json::array();
  for (const NotificationSpec& notification : plan.notifications) {
    notifications.push_back({{"name", notification.name},
                             {"kind", notification.kind},
                             {"url", notification.url},
                             {"on", notification.on}});
  }
  nlohmann::json json = {{"feature", plan.feature},
                         {"environment", plan.environment},
                         {"scope", plan.scope},
                         {"mode", plan.mode},
                         {"budget_ms", plan.budget_ms},
                         {"runbook_path", plan.runbook_path},
                         {"runbook_sha256", plan.runbook_sha256},
                         {"components", std::move(components)},
                         {"notifications", std::move(notifications)}};
  // Replacing invalid UTF-8 keeps a hand-built plan from throwing; parsed runbooks are UTF-8.
  return json.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<Plan> PlanFromJson(const std::string& text) {
  try {
    nlohmann::json json = nlohmann::json::parse(text);
    Plan plan;
    plan.feature = json.at("feature").get<std::string>();
    plan.environment = json.at("environment").get<std::string>();
    plan.scope = json.at("scope").get<std::string>();
    plan.mode = json.value("mode", std::string());
    plan.budget_ms = json.value("budget_ms", uint64_t{0});
    plan.runbook_path = json.value("runbook_path", std::string());
    plan.runbook_sha256 = json.value("runbook_sha256", std::string());
    for (const nlohmann::json& entry : json.at("components")) {
      PlannedComponentSpec component;
      component.name = entry.at("name").get<std::string>();
      component.after = entry.value("after", std::vector<std::string>());
      component.budget_ms = entry.value("budget_ms", uint64_t{0});
      component.mode = entry.value("mode", std::string());
      component.description = entry.value("description", std::string());
      for (const nlohmann::json& step : entry.at("steps")) {
        component.steps.push_back(StepFromJson(step));
      }
      plan.components.push_back(std::move(component));
    }
    for (const nlohmann::json& entry : json.value("notifications", nlohmann::json::array())) {
      plan.notifications.push_back(NotificationSpec{
          entry.at("name").get<std::string>(), entry.at("kind").get<std::string>(),
          entry.at("url").get<std::string>(), entry.value("on", std::vector<std::string>())});
    }
    return plan;
  } catch (const nlohmann::json::exception& error) {
    return InvalidArgument(std::string("invalid plan JSON: ") + error.what() +
                           "; the recorded plan is damaged or from an incompatible version");
  }
}

}  // namespace rollbook::commands
