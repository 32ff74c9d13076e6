#include "commands/notifier.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>
#include <optional>

#include "commands/drivers/drivers.h"

namespace rollbook::commands {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr size_t kMaxResponseBytes = 4096;

// Returns the Retry-After delay when the header contains whole seconds. The HTTP-date form is not
// parsed; the caller falls back to its backoff then.
std::optional<milliseconds> RetryAfter(const HttpResponse& response) {
  auto it = response.headers.find("retry-after");
  if (it == response.headers.end()) return std::nullopt;
  int64_t seconds = 0;
  const std::string& text = it->second;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (error != std::errc() || end != text.data() + text.size() || seconds < 0) return std::nullopt;
  return milliseconds(seconds * 1000);
}

bool IsRetryableTransportError(const Status& status) {
  return status.code() == StatusCode::kUnavailable || status.code() == StatusCode::kTimeout;
}

}  // namespace

std::string NotificationBody(const std::string& kind, const std::string& trigger,
                             const std::string& text, const nlohmann::json& fields) {
  nlohmann::json body;
  if (kind == "slack") {
    body["text"] = text;
    if (fields.is_object() && fields.contains("blocks")) body["blocks"] = fields["blocks"];
    if (fields.is_object() && fields.contains("channel")) body["channel"] = fields["channel"];
    return body.dump();
  }
  body["trigger"] = trigger;
  body["text"] = text;
  if (fields.is_object()) {
    for (const auto& [name, value] : fields.items()) {
      if (!body.contains(name)) body[name] = value;
    }
  }
  return body.dump();
}

NotificationOutcome DeliverNotification(const NotifierTarget& target, const std::string& trigger,
                                        const std::string& body, const NotifierOptions& options,
                                        const std::function<bool(Clock::time_point)>& wait_until,
                                        Clock::time_point& next_send,
                                        const std::function<bool()>& abort) {
  NotificationOutcome outcome{target.name, trigger, 0, 0, ""};
  HttpRequest request;
  request.method = "POST";
  request.url = target.url;
  request.headers = {{"Content-Type", "application/json"}};
  request.body = body;
  request.timeout = options.request_timeout;
  request.max_body_bytes = kMaxResponseBytes;
  request.abort = abort;
  milliseconds backoff = options.initial_backoff;
  milliseconds interval = target.kind == "slack" ? options.slack_interval : milliseconds(0);

  while (true) {
    if (Clock::now() < next_send && !wait_until(next_send)) {
      outcome.error = "not sent: stopped while waiting for the rate limit";
      return outcome;
    }
    ++outcome.attempts;
    Result<HttpResponse> response = SendHttpRequest(request);
    next_send = Clock::now() + interval;

    milliseconds delay = backoff;
    if (response.ok()) {
      outcome.http_status = response->status;
      if (response->status >= 200 && response->status < 300) {
        outcome.error.clear();
        return outcome;
      }
      outcome.error = "status " + std::to_string(response->status);
      if (response->status == 429) {
        delay = std::min(RetryAfter(*response).value_or(backoff), options.max_retry_after);
        next_send = std::max(next_send, Clock::now() + delay);
      } else if (response->status < 500) {
        return outcome;  // a retry would get the same 4xx status
      }
    } else {
      outcome.error = response.status().message();
      if (!IsRetryableTransportError(response.status())) return outcome;
    }

    if (outcome.attempts >= options.max_attempts) {
      outcome.error = "gave up after " + std::to_string(outcome.attempts) +
                      " attempts; last error: " + outcome.error;
      return outcome;
    }
    // The rate limit may push the retry later than the backoff alone would.
    Clock::time_point retry_at = std::max(Clock::now() + delay, next_send);
    milliseconds wait = std::chrono::duration_cast<milliseconds>(retry_at - Clock::now());
    spdlog::warn("notification '{}' to target {} failed on attempt {} ({}); retrying in {} ms",
                 trigger, target.name, outcome.attempts, outcome.error, wait.count());
    if (!wait_until(retry_at)) {
      outcome.error = "not sent: stopped before retrying after " + outcome.error;
      return outcome;
    }
    backoff = std::min(backoff * 2, options.max_backoff);
  }
}

Notifier::Notifier(std::vector<NotifierTarget> targets, Callback callback, NotifierOptions options)
    : targets_(std::move(targets)),
      callback_(std::move(callback)),
      options_(options),
      next_send_(targets_.size(), Clock::time_point::min()),
      worker_([this] { Work(); }) {}

Notifier::~Notifier() {
  {
    std::unique_lock<std::mutex> lock(mutex_);
    stopping_ = true;
    bool drained =
        idle_.wait_for(lock, options_.drain_timeout, [this] { return queue_.empty() && !busy_; });
    if (!drained) {
      spdlog::warn("notifier: {} notifications not sent after waiting {} ms; dropping them",
                   queue_.size() + (busy_ ? 1 : 0), options_.drain_timeout.count());
    }
    abort_ = true;
  }
  wake_.notify_all();
  worker_.join();
}

void Notifier::Enqueue(const std::string& trigger, const std::string& text,
                       const nlohmann::json& fields) {
  size_t queued = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (size_t i = 0; i < targets_.size(); ++i) {
      const std::vector<std::string>& triggers = targets_[i].triggers;
      bool subscribed = triggers.empty() ||
                        std::find(triggers.begin(), triggers.end(), trigger) != triggers.end();
      if (!subscribed) continue;
      queue_.push_back({i, trigger, NotificationBody(targets_[i].kind, trigger, text, fields)});
      ++queued;
    }
  }
  if (queued > 0) wake_.notify_all();
}

bool Notifier::Flush(milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  return idle_.wait_for(lock, timeout, [this] { return queue_.empty() && !busy_; });
}

bool Notifier::WaitUntil(Clock::time_point when) {
  std::unique_lock<std::mutex> lock(mutex_);
  return !wake_.wait_until(lock, when, [this] { return abort_.load(); });
}

void Notifier::Work() {
  while (true) {
    Message message;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock,
                 [this] { return !queue_.empty() || abort_ || (stopping_ && queue_.empty()); });
      if (queue_.empty()) {
        if (abort_ || stopping_) return;
        continue;
      }
      message = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
    }

    const NotifierTarget& target = targets_[message.target];
    NotificationOutcome outcome;
    if (abort_) {
      outcome = {target.name, message.trigger, 0, 0,
                 "not sent: the notifier shut down before the queue drained"};
    } else {
      outcome = DeliverNotification(
          target, message.trigger, message.body, options_,
          [this](Clock::time_point when) { return WaitUntil(when); }, next_send_[message.target],
          [this] { return abort_.load(); });
    }
    if (!outcome.delivered()) {
      spdlog::error("notification '{}' to target {} failed: {}", outcome.trigger, outcome.target,
                    outcome.error);
    }
    if (callback_) {
      try {
        callback_(outcome);
      } catch (const std::exception& error) {
        spdlog::error("notifier: callback for target {} threw: {}", outcome.target, error.what());
      }
    }

    {
      std::lock_guard<std::mutex> lock(mutex_);
      busy_ = false;
    }
    idle_.notify_all();
  }
}

}  // namespace rollbook::commands
