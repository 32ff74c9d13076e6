// Notifications about rollbacks, sent to Slack-compatible incoming webhooks and generic JSON
// webhooks.
//
// The orchestrator owns one Notifier per rollback. Enqueue() returns at once, and a worker
// thread sends the messages in order. It sends at most one per `slack_interval` to each Slack
// target, because Slack's rate-limit page (api.slack.com/docs/rate-limits) allows posting one
// message per second with short bursts. It waits out HTTP 429 for the Retry-After seconds, and
// retries 5xx responses and network errors with exponential backoff. A failed notification is
// reported through the callback and never throws, so it cannot fail a rollback. Webhook URLs are
// secrets, so logs name the target and never its URL.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <thread>
#include <vector>

namespace rollbook::commands {

struct NotifierTarget {
  std::string name;
  std::string kind;                   // "slack" or "webhook"
  std::string url;                    // resolved; a secret
  std::vector<std::string> triggers;  // such as "start", "completion", "failure", "alert"
};

struct NotificationOutcome {
  std::string target;
  std::string trigger;
  long http_status = 0;  // the last status received, 0 when no response came
  int attempts = 0;
  std::string error;  // empty when the message was delivered

  bool delivered() const { return error.empty(); }
};

struct NotifierOptions {
  int max_attempts = 5;
  std::chrono::milliseconds initial_backoff{500};  // doubles after each failed attempt
  std::chrono::milliseconds max_backoff{30000};
  std::chrono::milliseconds slack_interval{1000};  // minimum gap between sends to one Slack target
  std::chrono::milliseconds request_timeout{10000};
  std::chrono::milliseconds max_retry_after{60000};  // longer Retry-After values are cut to this
  std::chrono::milliseconds drain_timeout{5000};     // how long the destructor waits for the queue
};

// Sends `body` to `target` with the retry rules above, waiting through `wait_until`, which
// returns false when the caller wants to stop waiting (shutdown or deadline). `next_send` is the
// earliest time the next request to this target may start; it is read and advanced.
NotificationOutcome DeliverNotification(
    const NotifierTarget& target, const std::string& trigger, const std::string& body,
    const NotifierOptions& options,
    const std::function<bool(std::chrono::steady_clock::time_point)>& wait_until,
    std::chrono::steady_clock::time_point& next_send, const std::function<bool()>& abort = nullptr);

// Returns the JSON request body for a target kind: {"text": ...} for Slack (with `fields`'
// "blocks" when present), and for a webhook an object with "trigger", "text" and the members of
// `fields`.
std::string NotificationBody(const std::string& kind, const std::string& trigger,
                             const std::string& text, const nlohmann::json& fields);

class Notifier {
 public:
  // Called on the worker thread once per message and target, after delivery or failure.
  using Callback = std::function<void(const NotificationOutcome&)>;

  // Starts the worker thread. Targets with an empty trigger list receive every trigger.
  Notifier(std::vector<NotifierTarget> targets, Callback callback, NotifierOptions options = {});
  // Waits up to drain_timeout for queued messages, then reports the rest as not sent.
  ~Notifier();
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  // Queues a message for every target subscribed to `trigger`. Thread-safe. It takes only the
  // queue's mutex, which the worker never holds during a request.
  void Enqueue(const std::string& trigger, const std::string& text, const nlohmann::json& fields);

  // Waits until every queued message was delivered or given up on; false on timeout.
  bool Flush(std::chrono::milliseconds timeout);

 private:
  struct Message {
    size_t target = 0;
    std::string trigger;
    std::string body;
  };

  void Work();
  // Waits until `when` or until the notifier aborts; returns false when it aborted.
  bool WaitUntil(std::chrono::steady_clock::time_point when);

  const std::vector<NotifierTarget> targets_;
  const Callback callback_;
  const NotifierOptions options_;
  std::vector<std::chrono::steady_clock::time_point> next_send_;  // per target; worker only
  std::atomic<bool> abort_{false};

  std::mutex mutex_;
  std::condition_variable wake_;  // queue_ grew, stopping_ or abort_ changed
  std::condition_variable idle_;  // the queue drained
  std::deque<Message> queue_;     // guarded by mutex_
  bool busy_ = false;             // guarded by mutex_; a message is being sent
  bool stopping_ = false;         // guarded by mutex_

  std::thread worker_;  // last, so it starts after every member above exists
};

}  // namespace rollbook::commands
