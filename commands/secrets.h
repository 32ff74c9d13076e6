// Secret references in runbooks: ${env:NAME} and ${file:PATH}.
//
// References are kept unresolved in the runbook, the plan and the ledger. They are resolved only
// when a step runs, and every resolved value is registered with a Redactor so that captured
// output and error messages never carry it.
#pragma once

#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "ledger/status.h"

namespace rollbook::commands {

// Replaces registered secret values in text with "[redacted]". Thread-safe.
class Redactor {
 public:
  // Registers a value; values shorter than 4 bytes are ignored because they would redact noise.
  // It is const because a step receives a const Redactor and must still register a value it
  // generates, such as a rotated key. Registering only widens what Apply() removes. The value's
  // JSON-escaped form is registered too, for secrets echoed inside JSON bodies.
  void Add(const std::string& secret) const;
  std::string Apply(std::string text) const;

 private:
  mutable std::mutex mutex_;
  mutable std::vector<std::string> secrets_;  // longest first, so a secret inside another goes last
};

// Returns a copy of `params` with every ${env:NAME} and ${file:PATH} in string values replaced
// by its value, registering each value with `redactor`. Fails naming the reference when a
// variable is unset or a file cannot be read.
Result<nlohmann::json> ResolveSecrets(const nlohmann::json& params, Redactor& redactor);

}  // namespace rollbook::commands
