// The http driver, and the libcurl exchange it shares with the rotate-key and notify drivers
// and the Notifier.
//
// A request's URL and header values may carry secrets (a Slack webhook URL is one). So no error
// message, log line or recorded summary contains a header value, and recorded URLs go through
// the step's Redactor with their query string removed.
#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

#include "commands/drivers/drivers.h"

namespace rollbook::commands {
namespace {

constexpr int64_t kDefaultMaxBodyBytes = 64 * 1024;
constexpr int64_t kMaxBodyLimit = 64LL * 1024 * 1024;
constexpr std::chrono::milliseconds kMaxConnectTimeout{10000};
constexpr size_t kShownBodyBytes = 200;
const std::vector<int64_t> kDefaultExpectedStatus = {200, 201, 202, 204};

using CurlHandle = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;
using CurlList = std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)>;
using CurlUrl = std::unique_ptr<CURLU, decltype(&curl_url_cleanup)>;

void InitCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
  const HttpRequest* request = nullptr;
  HttpResponse response;
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t bytes = size * count;
  std::string& body = transfer->response.body;
  size_t room = transfer->request->max_body_bytes > body.size()
                    ? transfer->request->max_body_bytes - body.size()
                    : 0;
  size_t kept = std::min(room, bytes);
  body.append(data, kept);
  if (kept < bytes) transfer->response.truncated = true;
  return bytes;  // the rest is read and dropped, so the server's response completes normally
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t bytes = size * count;
  std::string line(data, bytes);
  size_t colon = line.find(':');
  if (colon == std::string::npos) return bytes;
  std::string name = line.substr(0, colon);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  size_t value_start = line.find_first_not_of(" \t", colon + 1);
  size_t value_end = line.find_last_not_of(" \t\r\n");
  std::string value = value_start == std::string::npos || value_end < value_start
                          ? ""
                          : line.substr(value_start, value_end - value_start + 1);
  transfer->response.headers[name] = value;
  return bytes;
}

int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* transfer = static_cast<Transfer*>(user);
  return transfer->request->abort && transfer->request->abort() ? 1 : 0;
}

bool IsValidMethod(const std::string& method) {
  return !method.empty() && std::all_of(method.begin(), method.end(),
                                        [](unsigned char c) { return std::isupper(c) != 0; });
}

Status TransferError(CURLcode code, const char* detail, const HttpRequest& request,
                     const std::string& host) {
  std::string reason = detail[0] != '\0' ? detail : curl_easy_strerror(code);
  std::string operation = request.method + " request to " + host;
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return Status(StatusCode::kTimeout, operation + " timed out after " +
                                              std::to_string(request.timeout.count()) + " ms");
    case CURLE_ABORTED_BY_CALLBACK:
      return Status(StatusCode::kCancelled, operation + " was cancelled");
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
      return InvalidArgument(operation + " failed: " + reason);
    default:
      return Status(StatusCode::kUnavailable, operation + " failed: " + reason);
  }
}

// Sets the method and body options; a body on a GET is sent as written.
void SetMethodAndBody(CURL* curl, const HttpRequest& request) {
  if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (request.method != "GET" || !request.body.empty()) {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  bool sends_body = !request.body.empty() || request.method == "POST" || request.method == "PUT" ||
                    request.method == "PATCH";
  if (sends_body) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
  }
}

}  // namespace

Result<std::string> HttpUrlHost(const std::string& url) {
  InitCurlOnce();
  CurlUrl parsed(curl_url(), curl_url_cleanup);
  if (!parsed) return Internal("curl_url() failed to allocate");
  CURLUcode code = curl_url_set(parsed.get(), CURLUPART_URL, url.c_str(), 0);
  if (code != CURLUE_OK) {
    return InvalidArgument(std::string("the URL is invalid (") + curl_url_strerror(code) +
                           "); write it as http://host/path or https://host/path");
  }
  char* scheme = nullptr;
  char* host = nullptr;
  curl_url_get(parsed.get(), CURLUPART_SCHEME, &scheme, 0);
  curl_url_get(parsed.get(), CURLUPART_HOST, &host, 0);
  std::string scheme_text = scheme != nullptr ? scheme : "";
  std::string host_text = host != nullptr ? host : "";
  curl_free(scheme);
  curl_free(host);
  if (scheme_text != "http" && scheme_text != "https") {
    return InvalidArgument("URL scheme '" + scheme_text + "' is not supported; use http or https");
  }
  if (host_text.empty()) return InvalidArgument("the URL has no host");
  return host_text;
}

Result<HttpResponse> SendHttpRequest(const HttpRequest& request) {
  Result<std::string> host = HttpUrlHost(request.url);
  if (!host.ok()) return host.status();
  if (!IsValidMethod(request.method)) {
    return InvalidArgument("HTTP method '" + request.method +
                           "' is invalid; use an upper-case method such as GET or POST");
  }
  CurlHandle curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return Internal("curl_easy_init() failed");

  // "Expect:" turns off curl's 100-continue wait for larger bodies.
  CurlList headers(curl_slist_append(nullptr, "Expect:"), curl_slist_free_all);
  if (!headers) return Internal("curl_slist_append() failed to allocate");
  for (const auto& [name, value] : request.headers) {
    if ((name + value).find_first_of("\r\n") != std::string::npos || name.empty()) {
      return InvalidArgument("HTTP header '" + name +
                             "' has an empty name or a line break in its name or value");
    }
    // After the first entry curl_slist_append returns the same head, or null when out of memory.
    if (curl_slist_append(headers.get(), (name + ": " + value).c_str()) == nullptr) {
      return Internal("curl_slist_append() failed to allocate");
    }
  }

  Transfer transfer;
  transfer.request = &request;
  char error_detail[CURL_ERROR_SIZE] = {};
  long timeout_ms = std::max<long>(1, static_cast<long>(request.timeout.count()));
  CURL* handle = curl.get();
  curl_easy_setopt(handle, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS,
                   std::min<long>(timeout_ms, static_cast<long>(kMaxConnectTimeout.count())));
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(handle, CURLOPT_USERAGENT, "rollbook");
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error_detail);
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(handle, CURLOPT_HEADERDATA, &transfer);
  if (request.abort) {
    curl_easy_setopt(handle, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, OnProgress);
    curl_easy_setopt(handle, CURLOPT_XFERINFODATA, &transfer);
  }
  SetMethodAndBody(handle, request);

  CURLcode code = curl_easy_perform(handle);
  if (code != CURLE_OK) return TransferError(code, error_detail, request, *host);
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &transfer.response.status);
  return std::move(transfer.response);
}

namespace {

// --- The http driver ---------------------------------------------------------------------

struct HttpOptions {
  HttpRequest request;
  std::vector<int64_t> expect_status;
  std::string expect_body_contains;
  bool save_response = false;
  std::string origin;
};

Result<HttpOptions> ParseOptions(const StepContext& context) {
  ParamReader params(context);
  HttpOptions options;
  options.request.method = params.String("method", "GET");
  options.request.url = params.String("url");
  for (const auto& [name, value] : params.StringMap("headers")) {
    options.request.headers.emplace_back(name, value);
  }
  if (params.Has("body")) {
    // A mapping or list is sent as JSON; a string is sent as written.
    std::string json_text = params.JsonText("body");
    bool is_text = !json_text.empty() && json_text.front() == '"';
    options.request.body = is_text ? params.String("body") : json_text;
    if (!is_text) options.request.headers.emplace_back("Content-Type", "application/json");
  }
  int64_t timeout_ms = params.Integer("timeout_ms", context.timeout.count(), 1, 3600 * 1000);
  options.request.timeout = std::chrono::milliseconds(timeout_ms);
  options.request.max_body_bytes =
      static_cast<size_t>(params.Integer("max_body_bytes", kDefaultMaxBodyBytes, 0, kMaxBodyLimit));
  options.expect_status = params.IntegerList("expect_status", kDefaultExpectedStatus);
  options.expect_body_contains = params.String("expect_body_contains", "");
  options.save_response = params.Boolean("save_response_as_backup", false);
  if (options.save_response) options.origin = params.String("origin");
  if (!params.ok()) return params.status();

  if (!HasUnresolvedReference(options.request.url)) {
    Result<std::string> host = HttpUrlHost(options.request.url);
    if (!host.ok()) return host.status().WithContext("parameter 'url'");
  }
  if (!IsValidMethod(options.request.method)) {
    return InvalidArgument("parameter 'method' is '" + options.request.method +
                           "'; use an upper-case HTTP method such as GET, POST, PUT or DELETE");
  }
  return options;
}

std::string StatusList(const std::vector<int64_t>& statuses) {
  std::string text;
  for (size_t i = 0; i < statuses.size(); ++i) {
    if (i > 0) text += i + 1 == statuses.size() ? " or " : ", ";
    text += std::to_string(statuses[i]);
  }
  return text;
}

// Returns the URL without its query string or fragment, redacted, for summaries.
std::string ShownUrl(const StepContext& context, const std::string& url) {
  return RedactText(context, url.substr(0, url.find_first_of("?#")));
}

std::string Shorten(std::string text) {
  if (text.size() > kShownBodyBytes) text = text.substr(0, kShownBodyBytes) + "...";
  return text;
}

class HttpDriver : public Driver {
 public:
  HttpDriver() {
    actions_.push_back(ActionSpec{
        "request",
        StepRole::kChange,
        /*mutates=*/true,
        /*idempotent=*/false,
        {
            {"url", ParamType::kString, true, "http:// or https:// URL"},
            {"method", ParamType::kString, false, "HTTP method (default GET)"},
            {"headers", ParamType::kStringMap, false, "request headers; values are never recorded"},
            {"body", ParamType::kAny, false, "request body; a mapping or list is sent as JSON"},
            {"expect_status", ParamType::kAny, false,
             "accepted status codes (default 200, 201, 202, 204)"},
            {"timeout_ms", ParamType::kInteger, false, "request timeout in ms (default: step's)"},
            {"max_body_bytes", ParamType::kInteger, false,
             "bytes of the response body kept (default 65536)"},
            {"expect_body_contains", ParamType::kString, false, "text the body must contain"},
            {"save_response_as_backup", ParamType::kBoolean, false,
             "store the response body in the backup store"},
            {"origin", ParamType::kString, false, "what the saved response is a backup of"},
        },
        "send one HTTP request and check its status"});
  }

  std::string_view name() const override { return "http"; }
  const std::vector<ActionSpec>& actions() const override { return actions_; }

  std::string Describe(const StepContext& context) const override {
    Result<HttpOptions> options = ParseOptions(context);
    if (!options.ok()) return "would send an HTTP request, but " + options.status().message();
    std::string text = "would send " + options->request.method + " " +
                       ShownUrl(context, options->request.url) + ", expecting status " +
                       StatusList(options->expect_status);
    if (options->save_response)
      text += ", and store the response as a backup of " + options->origin;
    return RedactText(context, text);
  }

  StepOutcome Run(const StepContext& context) override {
    if (std::optional<StepOutcome> rejected = RejectUnknownAction(*this, context)) return *rejected;
    if (context.dry_run) return DryRunOutcome(*this, context);
    StepOutcome outcome;
    Result<HttpOptions> options = ParseOptions(context);
    if (!options.ok()) {
      outcome.status = options.status();
      return outcome;
    }
    outcome.status = Send(context, *options, outcome.result);
    outcome.status = Status(outcome.status.code(), RedactText(context, outcome.status.message()));
    return outcome;
  }

 private:
  static Status Send(const StepContext& context, const HttpOptions& options, StepResult& result) {
    Result<std::string> host = HttpUrlHost(options.request.url);
    if (!host.ok()) return host.status().WithContext("parameter 'url'");
    result.host = *host;
    std::string shown = options.request.method + " " + ShownUrl(context, options.request.url);
    Result<HttpResponse> response = SendHttpRequest(options.request);
    if (!response.ok()) {
      result.summary = shown + " failed";
      return response.status();
    }
    result.output.stdout_text = RedactText(context, response->body);
    result.output.truncated = response->truncated;
    result.summary = shown + " -> " + std::to_string(response->status);
    if (response->truncated) result.summary += " (body truncated)";

    bool status_ok = std::find(options.expect_status.begin(), options.expect_status.end(),
                               response->status) != options.expect_status.end();
    bool body_ok = options.expect_body_contains.empty() ||
                   response->body.find(options.expect_body_contains) != std::string::npos;
    if (context.role == StepRole::kVerify || !options.expect_body_contains.empty()) {
      result.verification = Verification(context, options, *response, status_ok && body_ok);
      if (!result.verification->passed) {
        return FailedPrecondition("verification failed: expected " + result.verification->expected +
                                  ", got " + result.verification->actual);
      }
    } else if (!status_ok) {
      StatusCode code = response->status >= 500 || response->status == 429
                            ? StatusCode::kUnavailable
                            : StatusCode::kFailedPrecondition;
      return Status(code, shown + " returned status " + std::to_string(response->status) +
                              ", expected " + StatusList(options.expect_status) +
                              "; body: " + Shorten(result.output.stdout_text));
    }

    if (options.save_response) return SaveResponse(context, options, *response, result);
    return Status::Ok();
  }

  static VerificationRecord Verification(const StepContext& context, const HttpOptions& options,
                                         const HttpResponse& response, bool passed) {
    VerificationRecord record;
    record.check = "HTTP status " + StatusList(options.expect_status);
    record.expected = "status " + StatusList(options.expect_status);
    record.actual = "status " + std::to_string(response.status);
    if (!options.expect_body_contains.empty()) {
      record.check += " and a body containing the expected text";
      record.expected += ", body containing " + nlohmann::json(options.expect_body_contains).dump();
      record.actual += ", body " + nlohmann::json(Shorten(response.body)).dump();
    }
    record.expected = RedactText(context, record.expected);
    record.actual = RedactText(context, record.actual);
    record.passed = passed;
    return record;
  }

  static Status SaveResponse(const StepContext& context, const HttpOptions& options,
                             const HttpResponse& response, StepResult& result) {
    if (context.backups == nullptr) return Internal("the step has no backup store");
    if (response.truncated) {
      return Status(StatusCode::kLimitExceeded,
                    "the response body is larger than max_body_bytes (" +
                        std::to_string(options.request.max_body_bytes) +
                        " bytes), so it cannot be stored whole; raise max_body_bytes");
    }
    BackupRecord record;
    record.driver = "http";
    record.origin = options.origin;
    record.format = "http-response";
    record.rollback_id = context.rollback_id;
    record.component = context.component;
    record.step = context.step;
    Result<BackupRecord> stored = context.backups->PutBytes(response.body, std::move(record));
    if (!stored.ok()) return stored.status();
    result.backups.push_back(*stored);
    return Status::Ok();
  }

  std::vector<ActionSpec> actions_;
};

}  // namespace

std::unique_ptr<Driver> MakeHttpDriver() { return std::make_unique<HttpDriver>(); }

}  // namespace rollbook::commands
