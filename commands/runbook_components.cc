// Reading components: their step lists or modes, budgets and `after:` dependencies.
#include <algorithm>

#include "commands/runbook_internal.h"

namespace rollbook::commands::runbook_internal {
namespace {

const std::vector<std::string> kComponentKeys = {"description", "after", "budget",
                                                 "steps",       "modes", "default_mode"};

std::string Quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

void ReadModes(ReadContext& context, const YAML::Node& node, ComponentSpec& component) {
  for (const auto& [key, value] :
       MappingEntries(context, node, "modes of component " + Quoted(component.name), {})) {
    const std::string& mode = key.Scalar();
    if (!IsValidName(mode)) {
      context.problems.Add(
          key, "invalid mode name " + Quoted(mode),
          "use letters, digits, '-', '_' and '.', starting with a letter or digit");
    }
    component.modes[mode] =
        ReadStepList(context, value, component.name,
                     "component " + Quoted(component.name) + " mode " + Quoted(mode));
  }
  if (component.modes.empty()) {
    context.problems.Add(node, "component " + Quoted(component.name) + " has an empty modes list",
                         "add at least one mode, each a list of steps, or remove modes:");
  }
}

// Checks how `steps`, `modes` and `default_mode` combine.
void CheckModeChoice(ReadContext& context, const YAML::Node& component_node,
                     const std::optional<YAML::Node>& default_mode_node, bool has_steps,
                     ComponentSpec& component) {
  std::string name = Quoted(component.name);
  if (!has_steps && component.modes.empty()) {
    context.problems.Add(component_node, "component " + name + " has neither steps nor modes",
                         "add steps: with a list of steps, or modes: with named step lists");
    return;
  }
  if (!default_mode_node) {
    if (!component.modes.empty() && !has_steps) {
      std::vector<std::string> modes;
      for (const auto& [mode, steps] : component.modes) modes.push_back(mode);
      context.problems.Add(component_node,
                           "component " + name + " has modes but no default_mode or steps",
                           "add default_mode: with one of: " + JoinNames(modes) +
                               ", so that a rollback without --mode knows what to run");
    }
    return;
  }

  std::optional<std::string> mode = ReadScalar(context, *default_mode_node, "default_mode");
  if (!mode) return;
  if (component.modes.empty()) {
    context.problems.Add(*default_mode_node,
                         "component " + name + " sets default_mode but has no modes",
                         "remove default_mode:, or add modes:");
    return;
  }
  if (!component.modes.contains(*mode)) {
    std::vector<std::string> modes;
    for (const auto& [known, steps] : component.modes) modes.push_back(known);
    context.problems.Add(*default_mode_node,
                         "default_mode " + Quoted(*mode) + " is not a mode of component " + name,
                         SuggestFrom(*mode, modes, "modes"));
    return;
  }
  component.default_mode = *mode;
}

void ReadComponent(ReadContext& context, const YAML::Node& key, const YAML::Node& node) {
  ComponentSpec component;
  component.name = key.Scalar();
  component.location = context.problems.At(key);
  if (!IsValidName(component.name)) {
    context.problems.Add(key, "invalid component name " + Quoted(component.name),
                         "use letters, digits, '-', '_' and '.', starting with a letter or digit");
  }
  if (!node.IsMap()) {
    context.problems.Add(node.IsNull() ? key : node,
                         "component " + Quoted(component.name) + " must be a mapping",
                         "add steps: (or modes:) indented under the component name");
    context.runbook.components.push_back(std::move(component));
    return;
  }

  bool has_steps = false;
  std::optional<YAML::Node> default_mode_node;
  std::vector<SourceLocation> after_locations;
  std::string label = "component " + Quoted(component.name);
  for (const auto& [field, value] : MappingEntries(context, node, label, kComponentKeys)) {
    const std::string& name = field.Scalar();
    if (name == "description") {
      if (auto text = ReadScalar(context, value, "description")) component.description = *text;
    } else if (name == "after") {
      auto names = ReadNameList(context, value, "after", &after_locations);
      if (names) component.after = *names;
    } else if (name == "budget") {
      if (auto ms = ReadDuration(context, value, "budget")) component.budget_ms = *ms;
    } else if (name == "steps") {
      has_steps = true;
      component.steps = ReadStepList(context, value, component.name, label);
    } else if (name == "modes") {
      ReadModes(context, value, component);
    } else if (name == "default_mode") {
      default_mode_node = value;
    }
  }
  CheckModeChoice(context, key, default_mode_node, has_steps, component);

  if (component.after.size() != after_locations.size()) after_locations.clear();
  context.after_locations[component.name] = std::move(after_locations);
  context.runbook.components.push_back(std::move(component));
}

// Reports `after:` entries that name no component, and removes them so the graph checks see
// only real edges.
void CheckAfterReferences(ReadContext& context) {
  std::vector<std::string> names;
  for (const ComponentSpec& component : context.runbook.components) names.push_back(component.name);

  for (ComponentSpec& component : context.runbook.components) {
    std::vector<SourceLocation>& locations = context.after_locations[component.name];
    std::vector<std::string> kept;
    std::vector<SourceLocation> kept_locations;
    for (size_t i = 0; i < component.after.size(); ++i) {
      const std::string& dependency = component.after[i];
      SourceLocation location = i < locations.size() ? locations[i] : component.location;
      if (std::find(names.begin(), names.end(), dependency) == names.end()) {
        context.problems.Add(location,
                             "component " + Quoted(component.name) + " runs after " +
                                 Quoted(dependency) + ", which is not a component",
                             SuggestFrom(dependency, names, "components"));
        continue;
      }
      if (std::find(kept.begin(), kept.end(), dependency) != kept.end()) continue;
      kept.push_back(dependency);
      kept_locations.push_back(location);
    }
    component.after = std::move(kept);
    locations = std::move(kept_locations);
  }
}

}  // namespace

void ReadComponents(ReadContext& context, const YAML::Node& node, const SourceLocation& key) {
  for (const auto& [name, value] : MappingEntries(context, node, "components", {})) {
    ReadComponent(context, name, value);
  }
  if (context.runbook.components.empty() && (node.IsNull() || node.IsMap())) {
    context.problems.Add(key, "the runbook has no components",
                         "add components: with at least one component and its steps");
    return;
  }
  CheckAfterReferences(context);
  CheckAfterCycles(context);
}

}  // namespace rollbook::commands::runbook_internal
