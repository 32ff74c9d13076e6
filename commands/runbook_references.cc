// ${vars.NAME} substitution and the syntax of secret references.
#include <functional>

#include "commands/runbook_internal.h"

namespace rollbook::commands::runbook_internal {
namespace {

constexpr std::string_view kVariablePrefix = "${vars.";
constexpr std::string_view kEnvironmentPrefix = "${env:";
constexpr std::string_view kFilePrefix = "${file:";

std::string Quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

}  // namespace

Result<std::vector<Reference>> ScanReferences(std::string_view text) {
  std::vector<Reference> references;
  size_t position = 0;
  while ((position = text.find("${", position)) != std::string_view::npos) {
    std::string_view rest = text.substr(position);
    ReferenceKind kind;
    size_t prefix_size;
    if (rest.starts_with(kVariablePrefix)) {
      kind = ReferenceKind::kVariable;
      prefix_size = kVariablePrefix.size();
    } else if (rest.starts_with(kEnvironmentPrefix)) {
      kind = ReferenceKind::kEnvironment;
      prefix_size = kEnvironmentPrefix.size();
    } else if (rest.starts_with(kFilePrefix)) {
      kind = ReferenceKind::kFile;
      prefix_size = kFilePrefix.size();
    } else {
      position += 2;  // not ours, such as shell syntax
      continue;
    }

    size_t close = text.find('}', position + prefix_size);
    if (close == std::string_view::npos) {
      return InvalidArgument("unterminated reference " + Quoted(rest) + ": add the closing }");
    }
    Reference reference{
        kind, std::string(text.substr(position + prefix_size, close - position - prefix_size)),
        position, close + 1};
    if (reference.name.empty()) {
      return InvalidArgument("empty reference " +
                             Quoted(text.substr(position, close + 1 - position)) +
                             ": write ${vars.NAME}, ${env:NAME} or ${file:PATH}");
    }
    if (kind != ReferenceKind::kFile && !IsValidVariableName(reference.name)) {
      return InvalidArgument("invalid name " + Quoted(reference.name) + " in reference " +
                             Quoted(text.substr(position, close + 1 - position)) +
                             ": use letters, digits, '_' and '-', starting with a letter or '_'");
    }
    references.push_back(std::move(reference));
    position = close + 1;
  }
  return references;
}

Result<std::string> SubstituteVariables(std::string_view text,
                                        const std::map<std::string, std::string>& vars,
                                        const std::string& environment) {
  Result<std::vector<Reference>> references = ScanReferences(text);
  if (!references.ok()) return references.status();

  std::string output;
  size_t copied = 0;
  for (const Reference& reference : *references) {
    if (reference.kind != ReferenceKind::kVariable) continue;
    auto found = vars.find(reference.name);
    if (found == vars.end()) {
      return NotFound("variable " + Quoted(reference.name) + " is not defined in environment " +
                      Quoted(environment) + ": add it under environments." + environment +
                      ".vars or pass --set " + reference.name + "=VALUE");
    }
    output.append(text.substr(copied, reference.begin - copied));
    output += found->second;
    copied = reference.end;
  }
  output.append(text.substr(copied));
  return output;
}

Result<std::map<std::string, std::string>> ExpandEnvironment(
    const std::map<std::string, std::string>& vars, const std::string& environment) {
  std::map<std::string, std::string> expanded;
  std::vector<std::string> stack;  // variables being expanded, to name a cycle

  std::function<Status(const std::string&)> expand = [&](const std::string& name) -> Status {
    if (expanded.contains(name)) return Status::Ok();
    for (size_t i = 0; i < stack.size(); ++i) {
      if (stack[i] != name) continue;
      std::string cycle;
      for (size_t j = i; j < stack.size(); ++j) cycle += stack[j] + " -> ";
      return InvalidArgument("variables of environment " + Quoted(environment) +
                             " refer to each other in a cycle: " + cycle + name +
                             "; replace one reference with a literal value");
    }
    auto found = vars.find(name);
    if (found == vars.end()) {
      return NotFound("variable " + Quoted(name) + " is not defined in environment " +
                      Quoted(environment) + ": add it under environments." + environment +
                      ".vars or pass --set " + name + "=VALUE");
    }

    stack.push_back(name);
    Result<std::vector<Reference>> references = ScanReferences(found->second);
    if (!references.ok()) return references.status();
    for (const Reference& reference : *references) {
      if (reference.kind == ReferenceKind::kVariable)
        ROLLBOOK_RETURN_IF_ERROR(expand(reference.name));
    }
    Result<std::string> value = SubstituteVariables(found->second, expanded, environment);
    if (!value.ok()) return value.status();
    expanded[name] = *value;
    stack.pop_back();
    return Status::Ok();
  };

  for (const auto& [name, value] : vars) ROLLBOOK_RETURN_IF_ERROR(expand(name));
  return expanded;
}

Status SubstituteInJson(nlohmann::json& value, const std::map<std::string, std::string>& vars,
                        const std::string& environment) {
  if (value.is_string()) {
    Result<std::string> text = SubstituteVariables(value.get<std::string>(), vars, environment);
    if (!text.ok()) return text.status();
    value = *text;
    return Status::Ok();
  }
  if (value.is_array() || value.is_object()) {
    for (auto& element : value)
      ROLLBOOK_RETURN_IF_ERROR(SubstituteInJson(element, vars, environment));
  }
  return Status::Ok();
}

}  // namespace rollbook::commands::runbook_internal
