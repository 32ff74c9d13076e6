// Factories for the built-in drivers. DriverRegistry::BuiltIn() holds one of each.
//
// Below the factories are helpers shared by driver implementations: typed parameter access and
// a libcurl HTTP exchange.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "commands/driver.h"

namespace rollbook::commands {

std::unique_ptr<Driver> MakeExecDriver();
std::unique_ptr<Driver> MakeFlagdDriver();
std::unique_ptr<Driver> MakePostgresDriver();
std::unique_ptr<Driver> MakeRedisDriver();
std::unique_ptr<Driver> MakeHttpDriver();
std::unique_ptr<Driver> MakeRotateKeyDriver();
std::unique_ptr<Driver> MakeNotifyDriver();

// Reads a step's parameters with type checks. Each getter returns the value, or the fallback
// when the parameter is absent or has the wrong type. The first problem is kept in status(), so
// a driver reads all its parameters and then checks status() once. Messages name the step and
// the parameter, never the value, because values may hold resolved secrets.
class ParamReader {
 public:
  explicit ParamReader(const StepContext& context);

  bool Has(std::string_view name) const;
  std::string String(std::string_view name);  // required
  std::string String(std::string_view name, std::string fallback);
  int64_t Integer(std::string_view name, int64_t fallback);
  int64_t Integer(std::string_view name, int64_t fallback, int64_t min, int64_t max);
  bool Boolean(std::string_view name, bool fallback);
  std::vector<std::string> StringList(std::string_view name);  // required, not empty
  std::vector<std::string> StringList(std::string_view name, std::vector<std::string> fallback);
  std::map<std::string, std::string> StringMap(std::string_view name);  // empty when absent
  std::vector<int64_t> IntegerList(std::string_view name, std::vector<int64_t> fallback);
  // Returns the parameter as compact JSON text, or an empty string when it is absent.
  std::string JsonText(std::string_view name) const;

  // Records a problem found by the driver itself, such as two parameters that exclude each other.
  void Fail(const std::string& message);

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }

 private:
  const nlohmann::json* Find(std::string_view name) const;
  void WrongType(std::string_view name, std::string_view expected);

  const StepContext& context_;
  Status status_;
};

// Returns `text` with every registered secret replaced, or unchanged when the step has no
// redactor.
std::string RedactText(const StepContext& context, std::string text);

// Returns a failed outcome when `context.action` names none of the driver's actions. An empty
// action is accepted when the driver has exactly one action.
std::optional<StepOutcome> RejectUnknownAction(const Driver& driver, const StepContext& context);

// Returns true when `text` still contains a ${...} reference. Describe() may see parameters
// before secrets are resolved, and then checks only what it can.
bool HasUnresolvedReference(std::string_view text);

// Returns the "would ..." outcome every driver gives in dry-run mode.
StepOutcome DryRunOutcome(const Driver& driver, const StepContext& context);

// One HTTP request, sent with libcurl. Only http and https URLs are accepted and redirects are
// not followed. A Slack webhook URL is itself a secret, so no message built here contains it.
struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{10000};
  size_t max_body_bytes = 64 * 1024;
  std::function<bool()> abort;  // polled during the transfer; returning true aborts it
};

struct HttpResponse {
  long status = 0;
  std::string body;  // at most max_body_bytes of the response body
  bool truncated = false;
  std::map<std::string, std::string> headers;  // header names in lower case
};

// Sends `request` and returns any HTTP status as a response. Fails with kInvalidArgument for a
// malformed or non-HTTP URL, kUnavailable when the server cannot be reached or the connection
// breaks, kTimeout past the request's timeout and kCancelled when `abort` returned true.
Result<HttpResponse> SendHttpRequest(const HttpRequest& request);

// Returns the host of an http or https URL, or kInvalidArgument saying what is wrong with it.
Result<std::string> HttpUrlHost(const std::string& url);

}  // namespace rollbook::commands
