// Reading typed values out of yaml-cpp nodes, reporting problems with their positions.
#include <algorithm>
#include <charconv>

#include "commands/runbook_internal.h"

namespace rollbook::commands::runbook_internal {
namespace {

std::string Quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

bool IsPlain(const YAML::Node& node) { return node.Tag() == "?"; }

// Returns the JSON value of a plain scalar such as 42, -1.5, true or null.
nlohmann::json PlainScalarToJson(const std::string& text) {
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
    return nullptr;
  }
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;

  int64_t integer = 0;
  auto [integer_end, integer_error] =
      std::from_chars(text.data(), text.data() + text.size(), integer);
  if (integer_error == std::errc() && integer_end == text.data() + text.size()) return integer;

  double real = 0;
  auto [real_end, real_error] = std::from_chars(text.data(), text.data() + text.size(), real);
  if (real_error == std::errc() && real_end == text.data() + text.size()) return real;
  return text;
}

}  // namespace

SourceLocation ProblemList::At(const YAML::Mark& mark) const {
  // yaml-cpp counts from 0 and uses -1 for nodes built in memory.
  return SourceLocation{file_, std::max(mark.line, 0) + 1, std::max(mark.column, 0) + 1};
}

SourceLocation ProblemList::At(const YAML::Node& node) const { return At(node.Mark()); }

void ProblemList::Add(const SourceLocation& location, std::string message, std::string fix) {
  problems_.push_back(RunbookProblem{location, std::move(message), std::move(fix)});
}

std::vector<RunbookProblem> ProblemList::Sorted() const {
  std::vector<RunbookProblem> sorted = problems_;
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    if (a.location.line != b.location.line) return a.location.line < b.location.line;
    return a.location.column < b.location.column;
  });
  return sorted;
}

nlohmann::json YamlToJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      return IsPlain(node) ? PlainScalarToJson(node.Scalar()) : nlohmann::json(node.Scalar());
    case YAML::NodeType::Sequence: {
      nlohmann::json array = nlohmann::json::array();
      for (const YAML::Node& element : node) array.push_back(YamlToJson(element));
      return array;
    }
    case YAML::NodeType::Map: {
      nlohmann::json object = nlohmann::json::object();
      for (const auto& entry : node) object[entry.first.Scalar()] = YamlToJson(entry.second);
      return object;
    }
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return nullptr;
  }
  return nullptr;
}

std::optional<std::string> ReadScalar(ReadContext& context, const YAML::Node& node,
                                      std::string_view what) {
  if (node.IsScalar()) return node.Scalar();
  if (node.IsNull()) {
    context.problems.Add(node, std::string(what) + " has no value",
                         "write a value after the colon");
  } else {
    context.problems.Add(
        node,
        std::string(what) + " must be a single value, not a " + (node.IsMap() ? "mapping" : "list"),
        "write a plain value such as a word, number or quoted string");
  }
  return std::nullopt;
}

std::optional<uint64_t> ReadDuration(ReadContext& context, const YAML::Node& node,
                                     std::string_view what) {
  std::optional<std::string> text = ReadScalar(context, node, what);
  if (!text) return std::nullopt;
  Result<uint64_t> ms = ParseDurationMs(*text);
  if (!ms.ok()) {
    context.problems.Add(node, std::string(what) + " is an invalid duration " + Quoted(*text),
                         "write a whole number followed by ms, s, m or h, such as 500ms, 30s, 5m "
                         "or 1h30m, or a bare number of milliseconds");
    return std::nullopt;
  }
  return *ms;
}

std::optional<bool> ReadBoolean(ReadContext& context, const YAML::Node& node,
                                std::string_view what) {
  std::optional<std::string> text = ReadScalar(context, node, what);
  if (!text) return std::nullopt;
  if (*text == "true") return true;
  if (*text == "false") return false;
  context.problems.Add(node, std::string(what) + " must be true or false, not " + Quoted(*text),
                       "write true or false");
  return std::nullopt;
}

std::optional<std::vector<std::string>> ReadNameList(ReadContext& context, const YAML::Node& node,
                                                     std::string_view what,
                                                     std::vector<SourceLocation>* locations) {
  std::vector<std::string> names;
  if (node.IsScalar()) {
    names.push_back(node.Scalar());
    if (locations != nullptr) locations->push_back(context.problems.At(node));
    return names;
  }
  if (!node.IsSequence()) {
    context.problems.Add(node, std::string(what) + " must be a list of names",
                         "write a list such as [database, application]");
    return std::nullopt;
  }
  bool valid = true;
  for (const YAML::Node& element : node) {
    std::optional<std::string> name = ReadScalar(context, element, std::string(what) + " entry");
    if (!name) {
      valid = false;
      continue;
    }
    names.push_back(*name);
    if (locations != nullptr) locations->push_back(context.problems.At(element));
  }
  if (!valid) return std::nullopt;
  return names;
}

std::vector<std::pair<YAML::Node, YAML::Node>> MappingEntries(
    ReadContext& context, const YAML::Node& node, std::string_view what,
    const std::vector<std::string>& known) {
  std::vector<std::pair<YAML::Node, YAML::Node>> entries;
  if (node.IsNull()) return entries;
  if (!node.IsMap()) {
    context.problems.Add(node, std::string(what) + " must be a mapping of keys to values",
                         "write key: value lines, indented under it");
    return entries;
  }

  std::set<std::string> seen;
  for (const auto& entry : node) {
    const YAML::Node& key = entry.first;
    if (!key.IsScalar()) {
      context.problems.Add(key, "a key in " + std::string(what) + " is not a plain name",
                           "use a word as the key");
      continue;
    }
    if (!seen.insert(key.Scalar()).second) {
      context.problems.Add(key,
                           "duplicate key " + Quoted(key.Scalar()) + " in " + std::string(what),
                           "remove or rename one of them");
      continue;
    }
    if (!known.empty() && std::find(known.begin(), known.end(), key.Scalar()) == known.end()) {
      context.problems.Add(key, "unknown key " + Quoted(key.Scalar()) + " in " + std::string(what),
                           SuggestFrom(key.Scalar(), known, "keys"));
      continue;
    }
    entries.emplace_back(key, entry.second);
  }
  return entries;
}

void CheckReferencesInText(ReadContext& context, const std::string& text,
                           const SourceLocation& location) {
  Result<std::vector<Reference>> references = ScanReferences(text);
  if (!references.ok()) {
    context.problems.Add(location, references.status().message(),
                         "write ${vars.NAME} for a variable, ${env:NAME} or ${file:PATH} for a "
                         "secret");
    return;
  }

  for (const Reference& reference : *references) {
    if (reference.kind != ReferenceKind::kVariable) continue;
    std::vector<std::string> lacking;
    for (const auto& [environment, vars] : context.runbook.environments) {
      if (!vars.contains(reference.name)) lacking.push_back(environment);
    }
    if (lacking.empty()) continue;
    std::string where = lacking.size() == 1 ? "environment " + Quoted(lacking[0])
                                            : "environments " + JoinNames(lacking);
    context.problems.Add(location,
                         "variable " + Quoted(reference.name) + " is not defined in " + where,
                         "add " + reference.name + ": VALUE under environments." + lacking[0] +
                             ".vars" + (lacking.size() > 1 ? " and the others listed" : ""));
  }
}

void CheckReferences(ReadContext& context, const YAML::Node& node) {
  if (node.IsScalar()) {
    CheckReferencesInText(context, node.Scalar(), context.problems.At(node));
    return;
  }
  if (node.IsSequence()) {
    for (const YAML::Node& element : node) CheckReferences(context, element);
    return;
  }
  if (node.IsMap()) {
    for (const auto& entry : node) CheckReferences(context, entry.second);
  }
}

}  // namespace rollbook::commands::runbook_internal
