// Reading and checking steps: driver, action, parameters against the action's ActionSpec, limits,
// and the rules of a step list (a backup before any mutating step, a verify step last).
#include <algorithm>
#include <charconv>

#include "commands/runbook_internal.h"

namespace rollbook::commands::runbook_internal {
namespace {

constexpr uint32_t kMaxRetries = 100;

const std::vector<std::string> kStepKeys = {"name",    "driver",  "action",     "params",
                                            "timeout", "retries", "backoff",    "budget",
                                            "role",    "mutates", "idempotent", "description"};

std::string Quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

// A step as read, with whether its driver and action were found; the list rules skip lists
// with unresolved steps because their roles are unknown.
struct ReadStep {
  StepSpec step;
  bool resolved = false;
};

std::vector<std::string> ActionNames(const Driver& driver) {
  std::vector<std::string> names;
  for (const ActionSpec& action : driver.actions()) names.push_back(action.name);
  return names;
}

std::vector<std::string> ParamNames(const ActionSpec& action) {
  std::vector<std::string> names;
  for (const ParamSpec& param : action.params) names.push_back(param.name);
  return names;
}

bool HasVariable(const std::string& text) { return text.find("${vars.") != std::string::npos; }
bool HasSecret(const std::string& text) {
  return text.find("${env:") != std::string::npos || text.find("${file:") != std::string::npos;
}

void AddTypeProblem(ReadContext& context, const YAML::Node& node, const ParamSpec& spec,
                    const std::string& label) {
  std::string actual = node.IsScalar() ? Quoted(node.Scalar())
                       : node.IsMap()  ? "a mapping"
                       : node.IsNull() ? "empty"
                                       : "a list";
  context.problems.Add(node,
                       "parameter " + Quoted(spec.name) + " of " + label + " must be " +
                           std::string(ParamTypeName(spec.type)) + ", not " + actual,
                       "write " + std::string(ParamTypeName(spec.type)) +
                           (spec.help.empty() ? "" : ". " + spec.name + ": " + spec.help));
}

// Converts a scalar for an integer or boolean parameter. A ${vars.NAME} reference defers the
// conversion to BuildPlan(); a secret cannot be typed before the step runs, so it is rejected.
std::optional<nlohmann::json> ConvertTypedScalar(ReadContext& context, const YAML::Node& node,
                                                 const ParamSpec& spec, StepSpec& step,
                                                 const std::string& label) {
  const std::string& text = node.Scalar();
  if (HasSecret(text)) {
    context.problems.Add(node,
                         "parameter " + Quoted(spec.name) + " of " + label + " must be " +
                             std::string(ParamTypeName(spec.type)) +
                             " and cannot take a secret reference",
                         "write the value itself or a ${vars.NAME} reference");
    return std::nullopt;
  }
  if (HasVariable(text)) {
    step.deferred_param_types[spec.name] = spec.type;
    return nlohmann::json(text);
  }

  if (spec.type == ParamType::kBoolean) {
    if (text == "true") return nlohmann::json(true);
    if (text == "false") return nlohmann::json(false);
  } else {
    int64_t value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error == std::errc() && end == text.data() + text.size()) return nlohmann::json(value);
  }
  AddTypeProblem(context, node, spec, label);
  return std::nullopt;
}

std::optional<nlohmann::json> ConvertParam(ReadContext& context, const YAML::Node& node,
                                           const ParamSpec& spec, StepSpec& step,
                                           const std::string& label) {
  CheckReferences(context, node);

  switch (spec.type) {
    case ParamType::kString:
      if (node.IsScalar()) return nlohmann::json(node.Scalar());
      break;
    case ParamType::kInteger:
    case ParamType::kBoolean:
      if (node.IsScalar()) return ConvertTypedScalar(context, node, spec, step, label);
      break;
    case ParamType::kStringList:
      if (node.IsScalar()) return nlohmann::json::array({node.Scalar()});
      if (node.IsSequence() &&
          std::all_of(node.begin(), node.end(), [](const YAML::Node& e) { return e.IsScalar(); })) {
        nlohmann::json list = nlohmann::json::array();
        for (const YAML::Node& element : node) list.push_back(element.Scalar());
        return list;
      }
      break;
    case ParamType::kStringMap:
      if (node.IsMap() && std::all_of(node.begin(), node.end(),
                                      [](const auto& entry) { return entry.second.IsScalar(); })) {
        nlohmann::json object = nlohmann::json::object();
        for (const auto& entry : node) object[entry.first.Scalar()] = entry.second.Scalar();
        return object;
      }
      break;
    case ParamType::kAny:
      return YamlToJson(node);
  }
  AddTypeProblem(context, node, spec, label);
  return std::nullopt;
}

// Reads `params` (absent when `params_node` is null) into step.params_json.
void ReadParams(ReadContext& context, const YAML::Node& step_node,
                const std::optional<YAML::Node>& params_node, const ActionSpec& action,
                StepSpec& step) {
  std::string label = step.driver + " " + step.action + " (step " + Quoted(step.name) + ")";
  nlohmann::json params = nlohmann::json::object();
  std::set<std::string> written;

  std::vector<std::pair<YAML::Node, YAML::Node>> entries;
  if (params_node) {
    entries = MappingEntries(context, *params_node, "params of step " + Quoted(step.name), {});
  }
  for (const auto& [key, value] : entries) {
    written.insert(key.Scalar());
    auto spec = std::find_if(action.params.begin(), action.params.end(),
                             [&](const ParamSpec& p) { return p.name == key.Scalar(); });
    if (spec == action.params.end()) {
      context.problems.Add(key, "unknown parameter " + Quoted(key.Scalar()) + " for " + label,
                           SuggestFrom(key.Scalar(), ParamNames(action), "parameters"));
      continue;
    }
    if (value.IsNull()) {
      context.problems.Add(key,
                           "parameter " + Quoted(spec->name) + " of " + label + " has no value",
                           "write " + std::string(ParamTypeName(spec->type)) + " after the colon");
      continue;
    }
    std::optional<nlohmann::json> converted = ConvertParam(context, value, *spec, step, label);
    if (converted) params[spec->name] = std::move(*converted);
  }

  const YAML::Node& missing_at = params_node ? *params_node : step_node;
  for (const ParamSpec& spec : action.params) {
    if (!spec.required || written.contains(spec.name)) continue;
    context.problems.Add(
        missing_at, "missing required parameter " + Quoted(spec.name) + " for " + label,
        "add " + spec.name + ": under params" + (spec.help.empty() ? "" : " (" + spec.help + ")"));
  }
  step.params_json = params.dump();
}

// Finds the step's driver and action, reporting what is unknown.
const ActionSpec* ResolveAction(ReadContext& context, const YAML::Node& step_node,
                                const YAML::Node& driver_node,
                                const std::optional<YAML::Node>& action_node, StepSpec& step) {
  const Driver* driver = context.registry.Find(step.driver);
  if (driver == nullptr) {
    context.problems.Add(driver_node, "unknown driver " + Quoted(step.driver),
                         SuggestFrom(step.driver, context.registry.Names(), "drivers"));
    return nullptr;
  }

  if (!action_node) {
    if (driver->actions().size() == 1) {
      step.action = driver->actions()[0].name;
      return &driver->actions()[0];
    }
    context.problems.Add(step_node, "step " + Quoted(step.name) + " has no action",
                         "add action: with one of: " + JoinNames(ActionNames(*driver)));
    return nullptr;
  }
  const ActionSpec* action = driver->FindAction(step.action);
  if (action == nullptr) {
    context.problems.Add(
        *action_node,
        "unknown action " + Quoted(step.action) + " for driver " + Quoted(step.driver),
        SuggestFrom(step.action, ActionNames(*driver), "actions"));
  }
  return action;
}

// Applies role, mutates and idempotent from the step over the action's defaults.
void ApplyFlags(ReadContext& context, const std::map<std::string, YAML::Node>& fields,
                const ActionSpec& action, StepSpec& step) {
  step.role = action.role;
  step.mutates = action.mutates;
  step.idempotent = action.idempotent;

  if (auto found = fields.find("role"); found != fields.end()) {
    std::optional<std::string> text = ReadScalar(context, found->second, "role");
    if (text) {
      std::optional<StepRole> role = ParseStepRole(*text);
      if (role) {
        // A step declared a backup or a check reads state, unless it also sets mutates: true.
        if (*role != action.role && (*role == StepRole::kBackup || *role == StepRole::kVerify)) {
          step.mutates = false;
        }
        step.role = *role;
      } else {
        context.problems.Add(found->second, "unknown role " + Quoted(*text),
                             SuggestFrom(*text, {"backup", "change", "verify", "other"}, "roles"));
      }
    }
  }
  if (auto found = fields.find("mutates"); found != fields.end()) {
    if (std::optional<bool> value = ReadBoolean(context, found->second, "mutates")) {
      step.mutates = *value;
    }
  }
  if (auto found = fields.find("idempotent"); found != fields.end()) {
    std::optional<bool> value = ReadBoolean(context, found->second, "idempotent");
    if (value && *value && !action.idempotent) {
      context.problems.Add(found->second,
                           "step " + Quoted(step.name) + " declares idempotent: true, but " +
                               step.driver + " " + step.action + " is not idempotent",
                           "remove idempotent: true; a step may only narrow idempotency, because "
                           "re-running a non-idempotent action after a crash could apply it twice");
    } else if (value) {
      step.idempotent = *value;
    }
  }
}

void ReadLimits(ReadContext& context, const std::map<std::string, YAML::Node>& fields,
                StepSpec& step) {
  if (auto found = fields.find("timeout"); found != fields.end()) {
    std::optional<uint64_t> ms = ReadDuration(context, found->second, "timeout");
    if (ms && *ms == 0) {
      context.problems.Add(found->second, "timeout must be longer than 0",
                           "write a duration such as 30s, or remove the key for the default 1m");
    } else if (ms) {
      step.timeout_ms = *ms;
    }
  }
  if (auto found = fields.find("backoff"); found != fields.end()) {
    if (auto ms = ReadDuration(context, found->second, "backoff")) step.backoff_ms = *ms;
  }
  if (auto found = fields.find("budget"); found != fields.end()) {
    if (auto ms = ReadDuration(context, found->second, "budget")) step.budget_ms = *ms;
  }
  if (auto found = fields.find("retries"); found != fields.end()) {
    std::optional<std::string> text = ReadScalar(context, found->second, "retries");
    uint32_t retries = 0;
    auto [end, error] = text ? std::from_chars(text->data(), text->data() + text->size(), retries)
                             : std::from_chars_result{nullptr, std::errc::invalid_argument};
    if (text &&
        (error != std::errc() || end != text->data() + text->size() || retries > kMaxRetries)) {
      context.problems.Add(found->second,
                           "retries must be a whole number from 0 to 100, not " + Quoted(*text),
                           "write the number of extra attempts, such as 2");
    } else if (text) {
      step.retries = retries;
    }
  }
  if (auto found = fields.find("description"); found != fields.end()) {
    if (auto text = ReadScalar(context, found->second, "description")) step.description = *text;
  }
}

std::optional<ReadStep> ReadOneStep(ReadContext& context, const YAML::Node& node) {
  if (!node.IsMap()) {
    context.problems.Add(node, "a step must be a mapping with name, driver, action and params",
                         "write {name: ..., driver: ..., action: ..., params: {...}}");
    return std::nullopt;
  }
  std::map<std::string, YAML::Node> fields;
  for (const auto& [key, value] : MappingEntries(context, node, "step", kStepKeys)) {
    fields.emplace(key.Scalar(), value);
  }

  ReadStep read;
  StepSpec& step = read.step;
  step.location = context.problems.At(node);
  for (const char* required : {"name", "driver"}) {
    if (!fields.contains(required)) {
      context.problems.Add(node, std::string("step is missing the key \"") + required + "\"",
                           std::string("add ") + required + ": to the step");
    }
  }
  if (!fields.contains("name") || !fields.contains("driver")) return std::nullopt;

  std::optional<std::string> name = ReadScalar(context, fields["name"], "step name");
  std::optional<std::string> driver = ReadScalar(context, fields["driver"], "driver");
  if (!name || !driver) return std::nullopt;
  step.name = *name;
  step.driver = *driver;
  if (!IsValidName(step.name)) {
    context.problems.Add(fields["name"], "invalid step name " + Quoted(step.name),
                         "use letters, digits, '-', '_' and '.', starting with a letter or digit");
  }
  std::optional<YAML::Node> action_node;
  if (fields.contains("action")) {
    std::optional<std::string> action = ReadScalar(context, fields["action"], "action");
    if (!action) return std::nullopt;
    step.action = *action;
    action_node = fields["action"];
  }

  ReadLimits(context, fields, step);
  const ActionSpec* action = ResolveAction(context, node, fields["driver"], action_node, step);
  if (action == nullptr) return read;
  read.resolved = true;
  ApplyFlags(context, fields, *action, step);
  std::optional<YAML::Node> params_node;
  if (fields.contains("params")) params_node = fields["params"];
  ReadParams(context, node, params_node, *action, step);
  return read;
}

// A mutating step needs an earlier backup step in the same list, and a list ends with a verify
// step. These are the gates the orchestrator also enforces at run time.
void CheckListRules(ReadContext& context, const std::vector<ReadStep>& steps,
                    const std::string& label) {
  bool backed_up = false;
  for (const ReadStep& read : steps) {
    const StepSpec& step = read.step;
    if (step.role == StepRole::kBackup) {
      backed_up = true;
      continue;
    }
    if (step.mutates && !backed_up) {
      context.problems.Add(step.location,
                           "step " + Quoted(step.name) + " of " + label +
                               " changes state, but no earlier step takes a backup",
                           "add a step with role: backup before it, or mark the step mutates: "
                           "false if it changes nothing");
      backed_up = true;  // report the first offender only
    }
  }

  const StepSpec& last = steps.back().step;
  if (last.role != StepRole::kVerify) {
    context.problems.Add(last.location,
                         "the last step of " + label + ", " + Quoted(last.name) +
                             ", does not verify (its role is " +
                             std::string(StepRoleName(last.role)) + ")",
                         "end the list with a step whose action verifies, or set role: verify on "
                         "a step that checks the result");
  }
}

}  // namespace

std::vector<StepSpec> ReadStepList(ReadContext& context, const YAML::Node& node,
                                   const std::string& component, const std::string& label) {
  std::vector<StepSpec> steps;
  if (!node.IsSequence() || node.size() == 0) {
    context.problems.Add(node, label + " has no steps",
                         "write a list of steps, each starting with \"- name:\"");
    return steps;
  }

  std::vector<ReadStep> reads;
  bool all_resolved = true;
  std::set<std::string> names;
  for (const YAML::Node& element : node) {
    std::optional<ReadStep> read = ReadOneStep(context, element);
    if (!read) {
      all_resolved = false;
      continue;
    }
    const std::string& name = read->step.name;
    auto owner = context.step_owners.emplace(name, component).first;
    if (!names.insert(name).second) {
      context.problems.Add(read->step.location,
                           "duplicate step name " + Quoted(name) + " in " + label,
                           "give each step its own name");
    } else if (owner->second != component) {
      context.problems.Add(
          read->step.location,
          "step name " + Quoted(name) + " is already used in component " + Quoted(owner->second),
          "give each step a name unique in the runbook, such as " + component + "-" + name);
    }
    all_resolved = all_resolved && read->resolved;
    reads.push_back(std::move(*read));
  }

  if (all_resolved && !reads.empty()) CheckListRules(context, reads, label);
  for (ReadStep& read : reads) steps.push_back(std::move(read.step));
  return steps;
}

}  // namespace rollbook::commands::runbook_internal
