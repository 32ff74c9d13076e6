// Loading a runbook: reading the file, parsing the YAML, and turning problems into a Status.
#include "commands/runbook.h"

#include <openssl/evp.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "commands/runbook_internal.h"

namespace rollbook::commands {
namespace {

using runbook_internal::ReadContext;

std::string Sha256Hex(const std::string& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0xf];
  }
  return hex;
}

SourceLocation LocationOfOffset(const std::string& path, const std::string& text, size_t offset) {
  SourceLocation location{path, 1, 1};
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++location.line;
      location.column = 1;
    } else {
      ++location.column;
    }
  }
  return location;
}

void ReadText(ReadContext& context, const std::string& text) {
  try {
    YAML::Node root = YAML::Load(text);
    runbook_internal::ReadRunbook(context, root);
  } catch (const YAML::ParserException& error) {
    context.problems.Add(context.problems.At(error.mark), "YAML syntax error: " + error.msg,
                         "fix the YAML at this position; check indentation, colons and quotes");
  } catch (const YAML::Exception& error) {
    context.problems.Add(context.problems.At(error.mark), "YAML error: " + error.msg,
                         "fix the YAML at this position");
  }
}

Status ProblemsStatus(const std::string& path, const std::vector<RunbookProblem>& problems) {
  std::string message = "runbook " + path + " is invalid (" + std::to_string(problems.size()) +
                        (problems.size() == 1 ? " problem):" : " problems):");
  for (const RunbookProblem& problem : problems) message += "\n" + problem.ToString();
  return InvalidArgument(std::move(message));
}

}  // namespace

std::string RunbookProblem::ToString() const {
  return location.file + ":" + std::to_string(location.line) + ":" +
         std::to_string(location.column) + ": " + message + " (" + fix + ")";
}

Result<Runbook> ParseRunbook(const std::string& text, const std::string& path,
                             const DriverRegistry& registry) {
  return ParseRunbook(text, path, registry, nullptr);
}

Result<Runbook> ParseRunbook(const std::string& text, const std::string& path,
                             const DriverRegistry& registry,
                             std::vector<RunbookProblem>* problems) {
  ReadContext context(path, registry);
  if (std::optional<size_t> offset = runbook_internal::FindInvalidUtf8(text)) {
    context.problems.Add(LocationOfOffset(path, text, *offset),
                         "the file is not valid UTF-8 at this byte", "save the runbook as UTF-8");
  } else {
    ReadText(context, text);
  }

  std::vector<RunbookProblem> sorted = context.problems.Sorted();
  if (problems != nullptr) *problems = sorted;
  if (!sorted.empty()) return ProblemsStatus(path, sorted);

  Runbook runbook = std::move(context.runbook);
  runbook.path = path;
  runbook.sha256 = Sha256Hex(text);
  return runbook;
}

Result<Runbook> LoadRunbook(const std::string& path, const DriverRegistry& registry) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return NotFound("cannot open runbook " + path +
                    ": pass --runbook FILE, set ROLLBOOK_RUNBOOK, or create ./rollbook.yaml");
  }
  std::ostringstream bytes;
  bytes << file.rdbuf();
  if (file.bad()) return IoError("cannot read runbook " + path);
  return ParseRunbook(bytes.str(), path, registry);
}

std::string ResolveRunbookPath(const std::string& flag_value) {
  if (!flag_value.empty()) return flag_value;
  const char* from_environment = std::getenv("ROLLBOOK_RUNBOOK");
  if (from_environment != nullptr && *from_environment != '\0') return from_environment;
  return "./rollbook.yaml";
}

Status ApplyVariableOverrides(Runbook& runbook, const std::string& environment,
                              const std::map<std::string, std::string>& overrides) {
  auto found = runbook.environments.find(environment);
  if (found == runbook.environments.end()) {
    std::vector<std::string> known;
    for (const auto& [name, vars] : runbook.environments) known.push_back(name);
    return NotFound("unknown environment \"" + environment + "\": use one of " +
                    runbook_internal::JoinNames(known));
  }

  std::map<std::string, std::string> vars = found->second;
  for (const auto& [name, value] : overrides) {
    if (runbook_internal::FindInvalidUtf8(value)) {
      return InvalidArgument("the value given for variable \"" + name +
                             "\" is not valid UTF-8: pass it in UTF-8");
    }
    if (!vars.contains(name)) {
      std::vector<std::string> known;
      for (const auto& [known_name, known_value] : vars) known.push_back(known_name);
      return NotFound("environment \"" + environment + "\" has no variable \"" + name +
                      "\" to set: " + runbook_internal::SuggestFrom(name, known, "variables"));
    }
    vars[name] = value;
  }
  Result<std::map<std::string, std::string>> expanded =
      runbook_internal::ExpandEnvironment(vars, environment);
  if (!expanded.ok()) return expanded.status().WithContext("after --set");

  found->second = std::move(vars);
  return Status::Ok();
}

Result<std::pair<std::string, std::string>> ParseVariableAssignment(std::string_view text) {
  size_t equals = text.find('=');
  if (equals == std::string_view::npos) {
    return InvalidArgument("invalid variable assignment \"" + std::string(text) +
                           "\": write NAME=VALUE");
  }
  std::string name(text.substr(0, equals));
  if (!runbook_internal::IsValidVariableName(name)) {
    return InvalidArgument("invalid variable name \"" + name +
                           "\" before '=': use letters, digits, '_' and '-', starting with a "
                           "letter or '_'");
  }
  return std::make_pair(name, std::string(text.substr(equals + 1)));
}

}  // namespace rollbook::commands
