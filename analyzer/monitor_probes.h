// The three probe kinds behind monitoring: HTTP, SQL and command. Analyzer-internal.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "analyzer/monitor.h"
#include "analyzer/monitor_thresholds.h"
#include "commands/secrets.h"

namespace rollbook::analyzer::internal {

class Probe {
 public:
  virtual ~Probe() = default;

  // Takes one sample. Returns within the probe's timeout, or earlier once `stop` returns true.
  // Errors become failed samples; their text has every resolved secret redacted.
  virtual ProbeSample Sample(const std::function<bool()>& stop) = 0;

  // What the probe checks, for the ledger: a URL or command as written in the runbook (secret
  // references unresolved), or host:port/database for SQL.
  virtual std::string Target() const = 0;
};

// Builds a probe, resolving its secret references and registering them with `redactor`, which
// must outlive the probe. Fails naming the reference that cannot be resolved.
Result<std::unique_ptr<Probe>> MakeProbe(const ProbeSpec& spec, commands::Redactor& redactor);

// Replaces ${vars.NAME} in `text` from `variables`. Values may hold further references, up to
// 10 levels deep. Fails naming a variable that `variables` lacks.
Result<std::string> ExpandVariables(const std::string& text,
                                    const std::map<std::string, std::string>& variables,
                                    int depth = 0);

// Parses a probe's output as a number: surrounding white space is allowed; empty text, NaN,
// infinity and anything else fail.
Result<double> ParseProbeNumber(const std::string& text);

}  // namespace rollbook::analyzer::internal
