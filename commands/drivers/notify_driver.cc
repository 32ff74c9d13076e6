// The notify driver: a runbook step that posts a message to a Slack-compatible incoming webhook
// or a generic JSON webhook, with the same retry rules as the Notifier.
//
// A failed notification does not fail the rollback unless the step sets `required: true`.
// Without it the step succeeds, and its summary states that the message was not delivered.
#include <nlohmann/json.hpp>
#include <thread>

#include "commands/drivers/drivers.h"
#include "commands/notifier.h"

namespace rollbook::commands {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int kStepMaxAttempts = 3;

struct NotifyOptions {
  std::string kind = "slack";
  std::string url;
  std::string text;
  std::string blocks_json;  // empty when absent
  std::string channel;
  bool required = false;
};

Result<NotifyOptions> ParseOptions(const StepContext& context) {
  ParamReader params(context);
  NotifyOptions options;
  options.kind = params.String("kind", "slack");
  options.url = params.String("url");
  options.text = params.String("text");
  options.blocks_json = params.JsonText("blocks");
  options.channel = params.String("channel", "");
  options.required = params.Boolean("required", false);

  if (options.kind != "slack" && options.kind != "webhook") {
    params.Fail("parameter 'kind' is '" + options.kind + "'; use slack or webhook");
  }
  if (!options.blocks_json.empty() && options.kind != "slack") {
    params.Fail("parameter 'blocks' is only for kind: slack");
  }
  if (!options.blocks_json.empty() && options.blocks_json.front() != '[') {
    params.Fail("parameter 'blocks' must be a list of Slack Block Kit blocks");
  }
  if (!params.ok()) return params.status();
  if (!HasUnresolvedReference(options.url)) {
    Result<std::string> host = HttpUrlHost(options.url);
    if (!host.ok()) return host.status().WithContext("parameter 'url'");
  }
  return options;
}

// Returns the host for summaries, or the reference itself while it is unresolved.
std::string ShownHost(const std::string& url) {
  Result<std::string> host = HttpUrlHost(url);
  return host.ok() ? *host : url;
}

class NotifyDriver : public Driver {
 public:
  NotifyDriver() {
    actions_.push_back(ActionSpec{
        "send",
        StepRole::kOther,
        /*mutates=*/false,
        /*idempotent=*/true,
        {
            {"url", ParamType::kString, true, "webhook URL; keep it in a secret reference"},
            {"text", ParamType::kString, true, "message text"},
            {"kind", ParamType::kString, false, "slack (default) or webhook"},
            {"blocks", ParamType::kAny, false, "Slack Block Kit blocks (kind: slack)"},
            {"channel", ParamType::kString, false, "channel name, for webhooks that accept one"},
            {"required", ParamType::kBoolean, false,
             "fail the step when the message cannot be delivered (default false)"},
        },
        "post a message to a Slack or JSON webhook"});
  }

  std::string_view name() const override { return "notify"; }
  const std::vector<ActionSpec>& actions() const override { return actions_; }

  std::string Describe(const StepContext& context) const override {
    Result<NotifyOptions> options = ParseOptions(context);
    if (!options.ok()) return "would send a notification, but " + options.status().message();
    return RedactText(context, "would send a " + options->kind + " notification to " +
                                   ShownHost(options->url) + ": " +
                                   nlohmann::json(options->text).dump());
  }

  StepOutcome Run(const StepContext& context) override {
    if (std::optional<StepOutcome> rejected = RejectUnknownAction(*this, context)) return *rejected;
    if (context.dry_run) return DryRunOutcome(*this, context);
    StepOutcome outcome;
    Result<NotifyOptions> options = ParseOptions(context);
    if (!options.ok()) {
      outcome.status = options.status();
      return outcome;
    }
    Result<std::string> host_result = HttpUrlHost(options->url);
    if (!host_result.ok()) {
      outcome.status = host_result.status().WithContext("parameter 'url'");
      return outcome;
    }
    std::string host = *host_result;
    outcome.result.host = host;

    NotificationOutcome delivery = Deliver(context, *options);
    std::string attempts =
        std::to_string(delivery.attempts) + (delivery.attempts == 1 ? " attempt" : " attempts");
    if (delivery.delivered()) {
      outcome.result.summary = "sent " + options->kind + " notification to " + host + ": status " +
                               std::to_string(delivery.http_status) + " after " + attempts;
      return outcome;
    }
    std::string failure =
        RedactText(context, options->kind + " notification to " + host + " failed after " +
                                attempts + ": " + delivery.error);
    if (options->required) {
      outcome.result.summary = failure;
      outcome.status =
          Status(StatusCode::kUnavailable, failure + " (the step sets required: true)");
    } else {
      outcome.result.summary = failure +
                               "; the rollback continues because the step does not set "
                               "required: true";
    }
    return outcome;
  }

 private:
  static NotificationOutcome Deliver(const StepContext& context, const NotifyOptions& options) {
    nlohmann::json fields = nlohmann::json::object();
    if (!options.blocks_json.empty()) fields["blocks"] = nlohmann::json::parse(options.blocks_json);
    if (!options.channel.empty()) fields["channel"] = options.channel;
    if (options.kind == "webhook") {
      fields["rollback_id"] = context.rollback_id;
      fields["component"] = context.component;
      fields["step"] = context.step;
    }
    std::string body = NotificationBody(options.kind, "step", options.text, fields);

    // Retries stay inside the step's timeout.
    Clock::time_point deadline = Clock::now() + context.timeout;
    NotifierOptions retry;
    retry.max_attempts = kStepMaxAttempts;
    retry.request_timeout = std::min(retry.request_timeout, context.timeout);
    NotifierTarget target{context.step, options.kind, options.url, {}};
    Clock::time_point next_send = Clock::time_point::min();
    auto wait_until = [&](Clock::time_point when) {
      if (when > deadline || context.cancelled()) return false;
      std::this_thread::sleep_until(when);
      return true;
    };
    return DeliverNotification(target, "step", body, retry, wait_until, next_send);
  }

  std::vector<ActionSpec> actions_;
};

}  // namespace

std::unique_ptr<Driver> MakeNotifyDriver() { return std::make_unique<NotifyDriver>(); }

}  // namespace rollbook::commands
