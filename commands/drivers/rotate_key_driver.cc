// The rotate-key driver: generates a new random API key and installs it, either in a file
// (mode 0600, written atomically, the old file backed up first) or by sending it to an HTTP
// endpoint.
//
// The key is registered with the step's Redactor as soon as it exists, and the step result
// records only its id ("key-" and 8 hex digits of its SHA-256) and fingerprint ("sha256:" and
// 16 hex digits), never the key.
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "commands/drivers/drivers.h"
#include "commands/secrets.h"

namespace rollbook::commands {
namespace {

constexpr int64_t kDefaultKeyBytes = 32;
constexpr int64_t kMinKeyBytes = 16;
constexpr int64_t kMaxKeyBytes = 1024;
constexpr uint32_t kKeyFileMode = 0600;
const std::vector<int64_t> kDefaultExpectedStatus = {200, 201, 202, 204};

struct RotateOptions {
  int64_t key_bytes = kDefaultKeyBytes;
  std::string format = "hex";
  std::string prefix;
  bool trailing_newline = true;
  std::string file;  // absolute path, or empty when the key goes to `url`
  std::string url;
  std::string method = "POST";
  std::map<std::string, std::string> headers;
  std::string body_template;
  std::vector<int64_t> expect_status;
  std::chrono::milliseconds timeout{0};
};

Result<RotateOptions> ParseOptions(const StepContext& context) {
  ParamReader params(context);
  RotateOptions options;
  options.key_bytes = params.Integer("key_bytes", kDefaultKeyBytes, kMinKeyBytes, kMaxKeyBytes);
  options.format = params.String("format", "hex");
  options.prefix = params.String("prefix", "");
  options.trailing_newline = params.Boolean("trailing_newline", true);
  std::string file = params.String("file", "");
  options.url = params.String("url", "");
  options.method = params.String("method", "POST");
  options.headers = params.StringMap("headers");
  options.body_template = params.String("body_template", "");
  options.expect_status = params.IntegerList("expect_status", kDefaultExpectedStatus);
  options.timeout = std::chrono::milliseconds(
      params.Integer("timeout_ms", context.timeout.count(), 1, 3600 * 1000));

  if (options.format != "hex" && options.format != "base64url") {
    params.Fail("parameter 'format' is '" + options.format + "'; use hex or base64url");
  }
  if (file.empty() == options.url.empty()) {
    params.Fail("give exactly one destination: 'file' (a key file) or 'url' (an HTTP endpoint)");
  }
  if (!options.body_template.empty() &&
      options.body_template.find("{{key}}") == std::string::npos) {
    params.Fail("parameter 'body_template' must contain {{key}} where the key goes");
  }
  if (!params.ok()) return params.status();
  if (!file.empty()) options.file = std::filesystem::absolute(file).lexically_normal().string();
  if (!options.url.empty() && !HasUnresolvedReference(options.url)) {
    Result<std::string> host = HttpUrlHost(options.url);
    if (!host.ok()) return host.status().WithContext("parameter 'url'");
  }
  return options;
}

// --- Keys --------------------------------------------------------------------------------

std::string HexEncode(const unsigned char* bytes, size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text;
  for (size_t i = 0; i < size; ++i) {
    text.push_back(kHex[bytes[i] >> 4]);
    text.push_back(kHex[bytes[i] & 0xf]);
  }
  return text;
}

std::string Base64UrlEncode(const unsigned char* bytes, size_t size) {
  std::string text(4 * ((size + 2) / 3) + 1, '\0');
  int length =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(text.data()), bytes, static_cast<int>(size));
  text.resize(static_cast<size_t>(length));
  std::replace(text.begin(), text.end(), '+', '-');
  std::replace(text.begin(), text.end(), '/', '_');
  text.erase(std::remove(text.begin(), text.end(), '='), text.end());
  return text;
}

Result<std::string> GenerateKey(const RotateOptions& options) {
  std::vector<unsigned char> random(static_cast<size_t>(options.key_bytes));
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
    return Internal("OpenSSL RAND_bytes failed to produce random bytes for the key");
  }
  std::string encoded = options.format == "hex" ? HexEncode(random.data(), random.size())
                                                : Base64UrlEncode(random.data(), random.size());
  OPENSSL_cleanse(random.data(), random.size());
  return options.prefix + encoded;
}

std::string KeyId(const std::string& key) { return "key-" + Sha256Hex(key).substr(0, 8); }
std::string Fingerprint(const std::string& key) { return "sha256:" + Sha256Hex(key).substr(0, 16); }

std::string TrimNewline(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

// Returns the URL without its query string or fragment, redacted, for summaries.
std::string ShownUrl(const StepContext& context, const std::string& url) {
  return RedactText(context, url.substr(0, url.find_first_of("?#")));
}

std::string DescribeRotation(const StepContext& context, const RotateOptions& options) {
  std::string key = "a " + std::to_string(options.key_bytes) + "-byte " + options.format + " key";
  if (!options.file.empty()) {
    return "would generate " + key + " and write it to " + options.file +
           " with mode 0600, backing up the current file first";
  }
  return "would generate " + key + " and send it with " + options.method + " to " +
         ShownUrl(context, options.url);
}

// --- Installing the key ------------------------------------------------------------------

class RotateKeyDriver : public Driver {
 public:
  RotateKeyDriver() {
    actions_.push_back(ActionSpec{
        "rotate",
        StepRole::kChange,
        /*mutates=*/true,
        /*idempotent=*/false,
        {
            {"file", ParamType::kString, false, "key file to replace (mode 0600)"},
            {"url", ParamType::kString, false, "HTTP endpoint that receives the new key"},
            {"key_bytes", ParamType::kInteger, false, "random bytes in the key (default 32)"},
            {"format", ParamType::kString, false, "hex (default) or base64url"},
            {"prefix", ParamType::kString, false, "text put before the encoded key"},
            {"trailing_newline", ParamType::kBoolean, false, "end the key file with a newline"},
            {"method", ParamType::kString, false, "HTTP method for 'url' (default POST)"},
            {"headers", ParamType::kStringMap, false, "HTTP headers for 'url'"},
            {"body_template", ParamType::kString, false,
             "request body with {{key}}; default {\"key\": ...}"},
            {"expect_status", ParamType::kAny, false, "accepted status codes"},
            {"timeout_ms", ParamType::kInteger, false, "HTTP timeout in ms (default: step's)"},
        },
        "generate a new random key and install it"});
  }

  std::string_view name() const override { return "rotate-key"; }
  const std::vector<ActionSpec>& actions() const override { return actions_; }

  std::string Describe(const StepContext& context) const override {
    Result<RotateOptions> options = ParseOptions(context);
    if (!options.ok()) return "would rotate a key, but " + options.status().message();
    return RedactText(context, DescribeRotation(context, *options));
  }

  StepOutcome Run(const StepContext& context) override {
    if (std::optional<StepOutcome> rejected = RejectUnknownAction(*this, context)) return *rejected;
    if (context.dry_run) return DryRunOutcome(*this, context);
    StepOutcome outcome;
    Result<RotateOptions> options = ParseOptions(context);
    if (!options.ok()) {
      outcome.status = options.status();
      return outcome;
    }
    Result<std::string> key = GenerateKey(*options);
    if (!key.ok()) {
      outcome.status = key.status();
      return outcome;
    }
    // Registered before anything can echo it, so every later text is redacted.
    if (context.redactor != nullptr) context.redactor->Add(*key);

    outcome.status = options->file.empty() ? SendKey(context, *options, *key, outcome.result)
                                           : WriteKey(context, *options, *key, outcome.result);
    outcome.status = Status(outcome.status.code(), Scrub(context, *key, outcome.status.message()));
    outcome.result.output.stdout_text = Scrub(context, *key, outcome.result.output.stdout_text);
    OPENSSL_cleanse(key->data(), key->size());
    return outcome;
  }

 private:
  // Redacts with the step's Redactor and also removes the key itself, which keeps the key out
  // of the result when the step has no Redactor.
  static std::string Scrub(const StepContext& context, const std::string& key, std::string text) {
    text = RedactText(context, std::move(text));
    for (size_t at = text.find(key); at != std::string::npos; at = text.find(key, at)) {
      text.replace(at, key.size(), "[redacted]");
    }
    return text;
  }

  static Status WriteKey(const StepContext& context, const RotateOptions& options,
                         const std::string& key, StepResult& result) {
    if (context.backups == nullptr) return Internal("the step has no backup store");
    KeyRotationRecord rotation{KeyId(key), Fingerprint(key), options.file, ""};
    std::string previous_key_id = "none";

    Result<std::string> old_key = ReadFileBytes(options.file);
    if (old_key.ok()) {
      previous_key_id = KeyId(TrimNewline(*old_key));
      BackupRecord record;
      record.driver = "rotate-key";
      record.origin = options.file;
      record.format = "key-file";
      record.rollback_id = context.rollback_id;
      record.component = context.component;
      record.step = context.step;
      Result<BackupRecord> stored = context.backups->PutBytes(*old_key, std::move(record));
      if (!stored.ok()) return stored.status().WithContext("backing up the old key file");
      rotation.previous_backup_id = stored->id;
      result.backups.push_back(*stored);
    } else if (old_key.status().code() != StatusCode::kNotFound) {
      return old_key.status();
    }

    std::string contents = options.trailing_newline ? key + "\n" : key;
    ROLLBOOK_RETURN_IF_ERROR(WriteFileAtomically(options.file, contents, kKeyFileMode));

    result.changes.push_back({options.file, previous_key_id, rotation.key_id,
                              "replaced " + previous_key_id + " with " + rotation.key_id});
    result.summary =
        "wrote new key " + rotation.key_id + " (" + rotation.fingerprint + ") to " + options.file;
    if (!rotation.previous_backup_id.empty()) {
      result.summary += "; old key backed up as " + rotation.previous_backup_id;
    }
    spdlog::info("rotate-key: step {}/{} installed key {} in {}", context.component, context.step,
                 rotation.key_id, options.file);
    result.key_rotation = std::move(rotation);
    return Status::Ok();
  }

  static Status SendKey(const StepContext& context, const RotateOptions& options,
                        const std::string& key, StepResult& result) {
    HttpRequest request;
    request.method = options.method;
    request.url = options.url;
    request.timeout = options.timeout;
    bool has_content_type = false;
    for (const auto& [name, value] : options.headers) {
      std::string lower = name;
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      has_content_type = has_content_type || lower == "content-type";
      request.headers.emplace_back(name, value);
    }
    if (!has_content_type) request.headers.emplace_back("Content-Type", "application/json");
    if (options.body_template.empty()) {
      request.body = nlohmann::json{{"key", key}}.dump();
    } else {
      request.body = options.body_template;
      for (size_t at = request.body.find("{{key}}"); at != std::string::npos;
           at = request.body.find("{{key}}", at + key.size())) {
        request.body.replace(at, 7, key);
      }
    }

    std::string destination = ShownUrl(context, options.url);
    Result<std::string> host = HttpUrlHost(options.url);
    if (!host.ok()) return host.status().WithContext("parameter 'url'");
    result.host = *host;
    Result<HttpResponse> response = SendHttpRequest(request);
    OPENSSL_cleanse(request.body.data(), request.body.size());
    if (!response.ok()) return response.status();
    result.output.stdout_text = response->body;
    result.output.truncated = response->truncated;
    bool accepted = std::find(options.expect_status.begin(), options.expect_status.end(),
                              response->status) != options.expect_status.end();
    if (!accepted) {
      StatusCode code = response->status >= 500 || response->status == 429
                            ? StatusCode::kUnavailable
                            : StatusCode::kFailedPrecondition;
      return Status(code, options.method + " " + destination + " returned status " +
                              std::to_string(response->status) +
                              ", so the new key was not installed and the old key stays in use");
    }

    KeyRotationRecord rotation{KeyId(key), Fingerprint(key), destination, ""};
    result.changes.push_back({destination, "", rotation.key_id,
                              "sent new key " + rotation.key_id + " to " + destination});
    result.summary = "sent new key " + rotation.key_id + " (" + rotation.fingerprint + ") to " +
                     destination + ": status " + std::to_string(response->status);
    result.key_rotation = std::move(rotation);
    return Status::Ok();
  }

  std::vector<ActionSpec> actions_;
};

}  // namespace

std::unique_ptr<Driver> MakeRotateKeyDriver() { return std::make_unique<RotateKeyDriver>(); }

}  // namespace rollbook::commands
