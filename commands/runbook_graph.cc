// The `after:` graph between components: cycle detection and the order of a plan.
#include <algorithm>
#include <functional>

#include "commands/runbook_internal.h"

namespace rollbook::commands::runbook_internal {
namespace {

enum class Visit { kNew, kOnStack, kDone };

std::string CycleText(const std::vector<std::string>& stack, size_t from, const std::string& back) {
  std::string text;
  for (size_t i = from; i < stack.size(); ++i) text += stack[i] + " -> ";
  return text + back;
}

}  // namespace

void CheckAfterCycles(ReadContext& context) {
  const std::vector<ComponentSpec>& components = context.runbook.components;
  std::map<std::string, const ComponentSpec*> by_name;
  for (const ComponentSpec& component : components) by_name.emplace(component.name, &component);

  std::map<std::string, Visit> visits;
  std::vector<std::string> stack;
  // Depth-first search in file order; each edge back onto the stack closes one cycle.
  std::function<void(const ComponentSpec&)> visit = [&](const ComponentSpec& component) {
    visits[component.name] = Visit::kOnStack;
    stack.push_back(component.name);
    const std::vector<SourceLocation>& locations = context.after_locations[component.name];
    for (size_t i = 0; i < component.after.size(); ++i) {
      const std::string& dependency = component.after[i];
      auto found = by_name.find(dependency);
      if (found == by_name.end()) continue;
      Visit state = visits[dependency];
      if (state == Visit::kNew) {
        visit(*found->second);
      } else if (state == Visit::kOnStack) {
        size_t from = std::find(stack.begin(), stack.end(), dependency) - stack.begin();
        context.problems.Add(i < locations.size() ? locations[i] : component.location,
                             "cycle in after: " + CycleText(stack, from, dependency),
                             "remove one of these after: entries so the components can be "
                             "ordered");
      }
    }
    stack.pop_back();
    visits[component.name] = Visit::kDone;
  };

  for (const ComponentSpec& component : components) {
    if (visits[component.name] == Visit::kNew) visit(component);
  }
}

Result<std::vector<std::string>> TopologicalOrder(const Runbook& runbook,
                                                  const std::set<std::string>& names) {
  std::vector<const ComponentSpec*> pending;
  for (const ComponentSpec& component : runbook.components) {
    if (names.contains(component.name)) pending.push_back(&component);
  }

  std::vector<std::string> order;
  std::set<std::string> placed;
  while (!pending.empty()) {
    // The first pending component, in file order, whose dependencies in the set are placed.
    auto ready = std::find_if(pending.begin(), pending.end(), [&](const ComponentSpec* component) {
      return std::all_of(
          component->after.begin(), component->after.end(),
          [&](const std::string& d) { return !names.contains(d) || placed.contains(d); });
    });
    if (ready == pending.end()) {
      std::vector<std::string> stuck;
      for (const ComponentSpec* component : pending) stuck.push_back(component->name);
      return InvalidArgument("components " + JoinNames(stuck) +
                             " wait for each other in after: (a cycle); run `rollbook runbook "
                             "check` to see where");
    }
    order.push_back((*ready)->name);
    placed.insert((*ready)->name);
    pending.erase(ready);
  }
  return order;
}

}  // namespace rollbook::commands::runbook_internal
