// Internals of runbook parsing, validation and planning, shared by the runbook_*.cc files.
// Only those files include this header, so it may include yaml-cpp and nlohmann/json.
#pragma once

#include <yaml-cpp/yaml.h>

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "commands/runbook.h"

namespace rollbook::commands::runbook_internal {

// Collects validation problems with 1-based positions.
class ProblemList {
 public:
  explicit ProblemList(std::string file) : file_(std::move(file)) {}

  SourceLocation At(const YAML::Node& node) const;
  SourceLocation At(const YAML::Mark& mark) const;

  void Add(const SourceLocation& location, std::string message, std::string fix);
  void Add(const YAML::Node& node, std::string message, std::string fix) {
    Add(At(node), std::move(message), std::move(fix));
  }

  bool empty() const { return problems_.empty(); }
  size_t size() const { return problems_.size(); }
  // Returns the problems sorted by line and column, keeping insertion order for ties.
  std::vector<RunbookProblem> Sorted() const;

 private:
  std::string file_;
  std::vector<RunbookProblem> problems_;
};

// Everything the reader functions share while they walk one runbook file.
struct ReadContext {
  ReadContext(std::string path_in, const DriverRegistry& registry_in)
      : path(path_in), problems(std::move(path_in)), registry(registry_in) {}

  std::string path;
  ProblemList problems;
  const DriverRegistry& registry;
  Runbook runbook;
  // Locations of each component's `after:` entries, parallel to ComponentSpec::after.
  std::map<std::string, std::vector<SourceLocation>> after_locations;
  // Step name -> the component that declared it first. Step names are unique across components
  // so that an operator can name a step alone; modes of one component may repeat a name.
  std::map<std::string, std::string> step_owners;
};

// Every environment has this variable unless it sets its own: the absolute directory of the
// runbook file, so that a runbook can name files beside it.
inline constexpr char kRunbookDirVariable[] = "runbook_dir";

// ---- names and suggestions (runbook_names.cc)

// True when `name` is a valid component, step, scope, environment or variable name: letters,
// digits, '-', '_' and '.', starting with a letter or digit.
bool IsValidName(std::string_view name);
bool IsValidVariableName(std::string_view name);

// Returns "a, b, c".
std::string JoinNames(const std::vector<std::string>& names);

// Returns a fix hint listing `known`, led by the closest candidate when one is near `name`.
std::string SuggestFrom(std::string_view name, const std::vector<std::string>& known,
                        std::string_view what);

std::optional<StepRole> ParseStepRole(std::string_view text);
std::string_view ParamTypeName(ParamType type);

// Returns the offset of the first byte that is not part of valid UTF-8, or nullopt. JSON
// output needs valid UTF-8, so runbook text and --set values are checked with it.
std::optional<size_t> FindInvalidUtf8(std::string_view text);

// ---- references (runbook_references.cc)

enum class ReferenceKind { kVariable, kEnvironment, kFile };

struct Reference {
  ReferenceKind kind;
  std::string name;  // variable name, environment variable name or file path
  size_t begin = 0;  // offset of "${"
  size_t end = 0;    // offset one past "}"
};

// Finds ${vars.NAME}, ${env:NAME} and ${file:PATH} in `text`. Any other "${" is left alone, so
// shell syntax such as ${HOME} passes through. Fails on an unterminated or empty reference.
Result<std::vector<Reference>> ScanReferences(std::string_view text);

// Replaces every ${vars.NAME} in `text` from `vars`; secret references stay as written.
// Fails naming the first variable that `vars` lacks, with `environment` in the message.
Result<std::string> SubstituteVariables(std::string_view text,
                                        const std::map<std::string, std::string>& vars,
                                        const std::string& environment);

// Expands variables that refer to other variables of the same environment. Fails naming a
// missing variable or a reference cycle.
Result<std::map<std::string, std::string>> ExpandEnvironment(
    const std::map<std::string, std::string>& vars, const std::string& environment);

// Replaces ${vars.NAME} in every string value of `value` (not in object keys).
Status SubstituteInJson(nlohmann::json& value, const std::map<std::string, std::string>& vars,
                        const std::string& environment);

// ---- YAML helpers (runbook_yaml.cc)

// Converts a YAML node to JSON. Plain scalars become null, booleans, integers or floats when
// they read as one; quoted scalars stay strings.
nlohmann::json YamlToJson(const YAML::Node& node);

// Returns the text of a scalar, or nullopt (adding a problem) when `node` is not a scalar.
std::optional<std::string> ReadScalar(ReadContext& context, const YAML::Node& node,
                                      std::string_view what);
std::optional<uint64_t> ReadDuration(ReadContext& context, const YAML::Node& node,
                                     std::string_view what);
std::optional<bool> ReadBoolean(ReadContext& context, const YAML::Node& node,
                                std::string_view what);
// Reads a list of names; a single scalar counts as a list of one. `locations` receives the
// position of each entry.
std::optional<std::vector<std::string>> ReadNameList(ReadContext& context, const YAML::Node& node,
                                                     std::string_view what,
                                                     std::vector<SourceLocation>* locations);

// Iterates a mapping, reporting duplicate keys and keys missing from `known` (when not empty).
// Returns the accepted (key, value) pairs in file order.
std::vector<std::pair<YAML::Node, YAML::Node>> MappingEntries(
    ReadContext& context, const YAML::Node& node, std::string_view what,
    const std::vector<std::string>& known);

// Checks the references in every string inside `node`: well formed, and each ${vars.NAME}
// defined in every environment.
void CheckReferences(ReadContext& context, const YAML::Node& node);
void CheckReferencesInText(ReadContext& context, const std::string& text,
                           const SourceLocation& location);

// ---- steps and components (runbook_steps.cc, runbook_components.cc)

// Reads a step list; `label` names it in messages, such as `component "database" mode "safe"`.
std::vector<StepSpec> ReadStepList(ReadContext& context, const YAML::Node& node,
                                   const std::string& component, const std::string& label);

void ReadComponents(ReadContext& context, const YAML::Node& node, const SourceLocation& key);

// ---- top level (runbook_reader.cc)

// Reads and validates a whole document. Problems go to context.problems.
void ReadRunbook(ReadContext& context, const YAML::Node& root);

// ---- graph (runbook_graph.cc)

// Reports each cycle in the components' `after:` lists.
void CheckAfterCycles(ReadContext& context);

// Orders `names` so that each comes after its `after:` dependencies inside the set. Among
// components whose dependencies are placed, the one written first in the runbook goes first.
// Fails naming the components of a cycle.
Result<std::vector<std::string>> TopologicalOrder(const Runbook& runbook,
                                                  const std::set<std::string>& names);

}  // namespace rollbook::commands::runbook_internal
