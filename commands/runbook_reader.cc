// Reading a runbook document: top-level keys, environments, notifications and scopes.
// Components and steps are read in runbook_components.cc and runbook_steps.cc.
#include <algorithm>
#include <filesystem>

#include "commands/runbook_internal.h"

namespace rollbook::commands::runbook_internal {
namespace {

const std::vector<std::string> kTopLevelKeys = {"feature",      "description",   "budget",
                                                "environments", "notifications", "components",
                                                "scopes",       "monitor"};
const std::vector<std::string> kEnvironmentKeys = {"description", "vars"};
const std::vector<std::string> kNotificationKeys = {"name", "kind", "url", "on"};
const std::vector<std::string> kNotificationKinds = {"slack", "webhook"};
const std::vector<std::string> kNotificationEvents = {"start", "completion", "failure", "alert"};
const std::vector<std::string> kScopeKeys = {"components", "budget", "description"};
const std::vector<std::string> kPredefinedScopes = {"database", "feature-flags",
                                                    "external-services", "application"};

std::string Quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

std::string RunbookDirectory(const std::string& path) {
  std::error_code error;
  std::filesystem::path absolute = std::filesystem::absolute(path, error);
  if (error) absolute = path;
  std::string directory = absolute.lexically_normal().parent_path().string();
  return directory.empty() ? "." : directory;
}

const char* kNameFix = "use letters, digits, '-', '_' and '.', starting with a letter or digit";

// Checks that variable values refer only to variables of the same environment, without cycles.
void CheckEnvironmentReferences(ReadContext& context, const std::string& environment,
                                const std::map<std::string, YAML::Node>& value_nodes,
                                const YAML::Node& environment_key) {
  const std::map<std::string, std::string>& vars = context.runbook.environments[environment];
  bool complete = true;
  for (const auto& [name, node] : value_nodes) {
    Result<std::vector<Reference>> references = ScanReferences(node.Scalar());
    if (!references.ok()) {
      context.problems.Add(node, references.status().message(),
                           "write ${vars.NAME}, ${env:NAME} or ${file:PATH}");
      complete = false;
      continue;
    }
    for (const Reference& reference : *references) {
      if (reference.kind != ReferenceKind::kVariable || vars.contains(reference.name)) continue;
      context.problems.Add(
          node,
          "variable " + Quoted(name) + " refers to " + Quoted(reference.name) +
              ", which environment " + Quoted(environment) + " does not define",
          "add " + reference.name + ": VALUE under environments." + environment + ".vars");
      complete = false;
    }
  }
  if (!complete) return;
  Result<std::map<std::string, std::string>> expanded = ExpandEnvironment(vars, environment);
  if (!expanded.ok()) {
    context.problems.Add(environment_key, expanded.status().message(),
                         "make the variables refer to each other without a loop");
  }
}

void ReadEnvironment(ReadContext& context, const YAML::Node& key, const YAML::Node& node) {
  const std::string& environment = key.Scalar();
  if (!IsValidName(environment)) {
    context.problems.Add(key, "invalid environment name " + Quoted(environment), kNameFix);
  }
  std::map<std::string, std::string>& vars = context.runbook.environments[environment];
  std::map<std::string, YAML::Node> value_nodes;

  std::string label = "environment " + Quoted(environment);
  for (const auto& [field, value] : MappingEntries(context, node, label, kEnvironmentKeys)) {
    if (field.Scalar() != "vars") {
      (void)ReadScalar(context, value, "description");
      continue;
    }
    for (const auto& [name, text] : MappingEntries(context, value, "vars of " + label, {})) {
      if (!IsValidVariableName(name.Scalar())) {
        context.problems.Add(name, "invalid variable name " + Quoted(name.Scalar()),
                             "use letters, digits, '_' and '-', starting with a letter or '_'");
        continue;
      }
      if (text.IsNull()) {
        context.problems.Add(name,
                             "variable " + Quoted(name.Scalar()) + " of " + label + " has no value",
                             "write a value after the colon, or \"\" for an empty string");
        continue;
      }
      std::optional<std::string> scalar =
          ReadScalar(context, text, "variable " + Quoted(name.Scalar()));
      if (!scalar) continue;
      vars[name.Scalar()] = *scalar;
      value_nodes.emplace(name.Scalar(), text);
    }
  }
  if (!vars.contains(kRunbookDirVariable))
    vars[kRunbookDirVariable] = RunbookDirectory(context.path);
  CheckEnvironmentReferences(context, environment, value_nodes, key);
}

void ReadEnvironments(ReadContext& context, const YAML::Node& node, const SourceLocation& key) {
  for (const auto& [name, value] : MappingEntries(context, node, "environments", {})) {
    ReadEnvironment(context, name, value);
  }
  if (context.runbook.environments.empty()) {
    context.problems.Add(key, "the runbook has no environments",
                         "add environments: with at least one, such as production: {vars: {}}");
  }
}

void ReadNotification(ReadContext& context, const YAML::Node& node, std::set<std::string>& names) {
  NotificationSpec notification;
  notification.on = {"start", "completion", "failure"};
  std::map<std::string, YAML::Node> fields;
  for (const auto& [key, value] :
       MappingEntries(context, node, "notification", kNotificationKeys)) {
    fields.emplace(key.Scalar(), value);
  }
  if (!node.IsMap()) return;
  for (const char* required : {"name", "kind", "url"}) {
    if (fields.contains(required)) continue;
    context.problems.Add(node, std::string("notification is missing the key \"") + required + "\"",
                         std::string("add ") + required + ": to the notification");
  }

  if (auto value = fields.find("name"); value != fields.end()) {
    if (auto name = ReadScalar(context, value->second, "notification name")) {
      notification.name = *name;
      if (!names.insert(*name).second) {
        context.problems.Add(value->second, "duplicate notification name " + Quoted(*name),
                             "give each notification its own name");
      }
    }
  }
  if (auto value = fields.find("kind"); value != fields.end()) {
    if (auto kind = ReadScalar(context, value->second, "notification kind")) {
      notification.kind = *kind;
      if (std::find(kNotificationKinds.begin(), kNotificationKinds.end(), *kind) ==
          kNotificationKinds.end()) {
        context.problems.Add(value->second, "unknown notification kind " + Quoted(*kind),
                             SuggestFrom(*kind, kNotificationKinds, "kinds"));
      }
    }
  }
  if (auto value = fields.find("url"); value != fields.end()) {
    if (auto url = ReadScalar(context, value->second, "notification url")) {
      notification.url = *url;
      CheckReferences(context, value->second);
    }
  }
  if (auto value = fields.find("on"); value != fields.end()) {
    std::vector<SourceLocation> locations;
    if (auto events = ReadNameList(context, value->second, "on", &locations)) {
      for (size_t i = 0; i < events->size(); ++i) {
        const std::string& event = (*events)[i];
        if (std::find(kNotificationEvents.begin(), kNotificationEvents.end(), event) ==
            kNotificationEvents.end()) {
          context.problems.Add(locations[i], "unknown notification event " + Quoted(event),
                               SuggestFrom(event, kNotificationEvents, "events"));
        }
      }
      notification.on = *events;
    }
  }
  context.runbook.notifications.push_back(std::move(notification));
}

void ReadNotifications(ReadContext& context, const YAML::Node& node) {
  if (node.IsNull()) return;
  if (!node.IsSequence()) {
    context.problems.Add(node, "notifications must be a list",
                         "write one \"- name: ...\" entry per notification");
    return;
  }
  std::set<std::string> names;
  for (const YAML::Node& element : node) ReadNotification(context, element, names);
}

void ReadScope(ReadContext& context, const YAML::Node& key, const YAML::Node& node) {
  const std::string& scope = key.Scalar();
  if (!IsValidName(scope))
    context.problems.Add(key, "invalid scope name " + Quoted(scope), kNameFix);

  // A scope is a list of components, or a mapping with components, budget and description.
  // YAML::Node assignment writes through to the document, so nodes are rebound with reset().
  YAML::Node components_node;
  components_node.reset(node);
  if (node.IsMap()) {
    bool has_components = false;
    for (const auto& [field, value] :
         MappingEntries(context, node, "scope " + Quoted(scope), kScopeKeys)) {
      if (field.Scalar() == "components") {
        components_node.reset(value);
        has_components = true;
      } else if (field.Scalar() == "budget") {
        if (auto ms = ReadDuration(context, value, "budget"))
          context.runbook.scope_budgets_ms[scope] = *ms;
      } else if (auto text = ReadScalar(context, value, "description")) {
        context.runbook.scope_descriptions[scope] = *text;
      }
    }
    if (!has_components) {
      context.problems.Add(key, "scope " + Quoted(scope) + " has no components",
                           "add components: with a list of component names");
      return;
    }
  }

  std::vector<SourceLocation> locations;
  std::optional<std::vector<std::string>> names;
  if (!components_node.IsNull()) {
    names = ReadNameList(context, components_node, "scope " + Quoted(scope), &locations);
    if (!names) return;
  }
  if (!names || names->empty()) {
    context.problems.Add(key, "scope " + Quoted(scope) + " has no components",
                         "list at least one component");
    return;
  }

  std::vector<std::string> known;
  for (const ComponentSpec& component : context.runbook.components) known.push_back(component.name);
  std::vector<std::string>& members = context.runbook.scopes[scope];
  for (size_t i = 0; i < names->size(); ++i) {
    const std::string& name = (*names)[i];
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      context.problems.Add(
          locations[i],
          "scope " + Quoted(scope) + " names " + Quoted(name) + ", which is not a component",
          SuggestFrom(name, known, "components"));
    } else if (std::find(members.begin(), members.end(), name) == members.end()) {
      members.push_back(name);
    }
  }
}

void AddPredefinedScopes(Runbook& runbook) {
  if (!runbook.scopes.contains("full")) {
    std::vector<std::string>& full = runbook.scopes["full"];
    for (const ComponentSpec& component : runbook.components) full.push_back(component.name);
  }
  for (const std::string& scope : kPredefinedScopes) {
    if (runbook.scopes.contains(scope)) continue;
    bool exists = std::any_of(runbook.components.begin(), runbook.components.end(),
                              [&](const ComponentSpec& c) { return c.name == scope; });
    if (exists) runbook.scopes[scope] = {scope};
  }
}

}  // namespace

void ReadRunbook(ReadContext& context, const YAML::Node& root) {
  if (!root.IsMap()) {
    context.problems.Add(root,
                         root.IsNull() ? "the runbook is empty" : "the runbook must be a mapping",
                         "start with feature:, environments: and components: keys");
    return;
  }
  std::map<std::string, YAML::Node> sections;
  std::map<std::string, YAML::Node> keys;
  for (const auto& [key, value] : MappingEntries(context, root, "the runbook", kTopLevelKeys)) {
    sections.emplace(key.Scalar(), value);
    keys.emplace(key.Scalar(), key);
  }
  for (const char* required : {"feature", "environments", "components"}) {
    if (sections.contains(required)) continue;
    context.problems.Add(root, std::string("the runbook is missing the key \"") + required + "\"",
                         std::string("add a top-level ") + required + ": key");
  }

  // Environments first: steps anywhere in the file are checked against their variables.
  if (sections.contains("environments")) {
    ReadEnvironments(context, sections["environments"], context.problems.At(keys["environments"]));
  }
  if (sections.contains("feature")) {
    if (auto feature = ReadScalar(context, sections["feature"], "feature")) {
      context.runbook.feature = *feature;
      if (!IsValidName(*feature)) {
        context.problems.Add(sections["feature"], "invalid feature name " + Quoted(*feature),
                             kNameFix);
      }
    }
  }
  if (sections.contains("description")) {
    if (auto text = ReadScalar(context, sections["description"], "description")) {
      context.runbook.description = *text;
    }
  }
  if (sections.contains("budget")) {
    if (auto ms = ReadDuration(context, sections["budget"], "budget"))
      context.runbook.budget_ms = *ms;
  }
  if (sections.contains("notifications")) ReadNotifications(context, sections["notifications"]);
  if (sections.contains("components")) {
    ReadComponents(context, sections["components"], context.problems.At(keys["components"]));
  }
  if (sections.contains("scopes")) {
    for (const auto& [key, value] : MappingEntries(context, sections["scopes"], "scopes", {})) {
      ReadScope(context, key, value);
    }
  }
  AddPredefinedScopes(context.runbook);
  if (sections.contains("monitor"))
    context.runbook.monitor_json = YamlToJson(sections["monitor"]).dump();
}

}  // namespace rollbook::commands::runbook_internal
