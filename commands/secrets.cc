#include "commands/secrets.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "commands/backup_store.h"

namespace rollbook::commands {
namespace {

constexpr size_t kMinSecretBytes = 4;
constexpr std::string_view kRedacted = "[redacted]";

// Returns `text` as it appears inside a JSON string, so a secret echoed in a JSON response body
// is found too.
std::string JsonEscaped(const std::string& text) {
  std::string dumped = nlohmann::json(text).dump();
  return dumped.substr(1, dumped.size() - 2);
}

bool IsEnvName(std::string_view name) {
  if (name.empty()) return false;
  if (!(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

Result<std::string> ResolveEnv(const std::string& reference, const std::string& name) {
  if (!IsEnvName(name)) {
    return InvalidArgument("secret reference " + reference +
                           " has an invalid variable name; use letters, digits and '_'");
  }
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) {
    return NotFound("secret reference " + reference + " cannot be resolved: environment variable " +
                    name + " is not set; export it before running rollbook");
  }
  if (*value == '\0') {
    return InvalidArgument("secret reference " + reference + " resolved to an empty value: " +
                           "environment variable " + name + " is set but empty");
  }
  return std::string(value);
}

Result<std::string> ResolveFile(const std::string& reference, const std::string& path) {
  if (path.empty()) {
    return InvalidArgument("secret reference " + reference + " names no file; write ${file:PATH}");
  }
  Result<std::string> bytes = ReadFileBytes(path);
  if (!bytes.ok()) {
    return Status(bytes.status().code(), "secret reference " + reference +
                                             " cannot be resolved: " + bytes.status().message());
  }
  std::string value = std::move(bytes).value();
  // One trailing newline is what editors and `echo` add; it is not part of the secret.
  if (!value.empty() && value.back() == '\n') value.pop_back();
  if (!value.empty() && value.back() == '\r') value.pop_back();
  if (value.empty()) {
    return InvalidArgument("secret reference " + reference +
                           " resolved to an empty value: " + path + " is empty");
  }
  return value;
}

// Replaces every ${env:...} and ${file:...} in `text`; other ${...} text stays as written.
Result<std::string> ResolveString(const std::string& text, const Redactor& redactor) {
  std::string resolved;
  size_t position = 0;
  while (position < text.size()) {
    size_t start = text.find("${", position);
    if (start == std::string::npos) break;
    size_t end = text.find('}', start);
    if (end == std::string::npos) break;
    std::string reference = text.substr(start, end - start + 1);
    std::string inner = text.substr(start + 2, end - start - 2);

    bool is_env = inner.rfind("env:", 0) == 0;
    bool is_file = inner.rfind("file:", 0) == 0;
    if (!is_env && !is_file) {
      resolved.append(text, position, end + 1 - position);
      position = end + 1;
      continue;
    }

    Result<std::string> value =
        is_env ? ResolveEnv(reference, inner.substr(4)) : ResolveFile(reference, inner.substr(5));
    if (!value.ok()) return value.status();
    redactor.Add(*value);
    resolved.append(text, position, start - position);
    resolved.append(*value);
    position = end + 1;
  }
  resolved.append(text, position, std::string::npos);
  return resolved;
}

Status ResolveInPlace(nlohmann::json& value, const Redactor& redactor) {
  if (value.is_string()) {
    Result<std::string> resolved = ResolveString(value.get_ref<const std::string&>(), redactor);
    if (!resolved.ok()) return resolved.status();
    value = std::move(resolved).value();
    return Status::Ok();
  }
  if (value.is_object() || value.is_array()) {
    for (nlohmann::json& element : value) {
      ROLLBOOK_RETURN_IF_ERROR(ResolveInPlace(element, redactor));
    }
  }
  return Status::Ok();
}

}  // namespace

void Redactor::Add(const std::string& secret) const {
  if (secret.size() < kMinSecretBytes) return;
  std::lock_guard<std::mutex> lock(mutex_);
  for (const std::string& form : {secret, JsonEscaped(secret)}) {
    if (std::find(secrets_.begin(), secrets_.end(), form) != secrets_.end()) continue;
    secrets_.push_back(form);
  }
  std::stable_sort(secrets_.begin(), secrets_.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

std::string Redactor::Apply(std::string text) const {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const std::string& secret : secrets_) {
    size_t position = 0;
    while ((position = text.find(secret, position)) != std::string::npos) {
      text.replace(position, secret.size(), kRedacted);
      position += kRedacted.size();
    }
  }
  return text;
}

Result<nlohmann::json> ResolveSecrets(const nlohmann::json& params, Redactor& redactor) {
  nlohmann::json resolved = params;
  ROLLBOOK_RETURN_IF_ERROR(ResolveInPlace(resolved, redactor));
  return resolved;
}

}  // namespace rollbook::commands
