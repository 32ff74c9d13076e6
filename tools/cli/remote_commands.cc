#include "tools/cli/remote_commands.h"

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "commands/rollback_events.h"
#include "ledger/event_json.h"
#include "tools/cli/cli.h"
#include "tools/cli/exit_status.h"
#include "tools/cli/operator_output.h"

namespace rollbook::cli {
namespace {

using nlohmann::json;

constexpr long kRequestTimeoutMs = 30000;
// The server sends a heartbeat every 15 s, so a stream silent for this long is dead.
constexpr long kStreamStallSeconds = 60;
constexpr int kMaxReconnects = 10;
// The rollbacks projection may trail the event stream by a moment.
constexpr auto kFinalStateWait = std::chrono::seconds(10);

std::atomic<bool> interrupted{false};
void OnInterrupt(int) { interrupted = true; }

struct CurlDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
struct HeaderListDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using CurlHandle = std::unique_ptr<CURL, CurlDeleter>;
using HeaderList = std::unique_ptr<curl_slist, HeaderListDeleter>;

struct HttpReply {
  long status = 0;
  std::string body;
};

// Maps an error reply to a Status carrying the server's message.
Status FromReply(const HttpReply& reply, const std::string& request_name) {
  json body = json::parse(reply.body, nullptr, /*allow_exceptions=*/false);
  std::string message = request_name + " failed with HTTP " + std::to_string(reply.status);
  if (body.is_object() && body.contains("error") && body["error"].is_object()) {
    message += ": " + body["error"].value("message", "");
  }
  switch (reply.status) {
    case 400:
    case 413:
    case 415:
    case 431:
      return InvalidArgument(message);
    case 401:
    case 403:
      return Status(StatusCode::kPermissionDenied,
                    message + "; set ROLLBOOK_TOKEN to a token with the needed scope");
    case 404:
      return NotFound(message);
    case 409:
      return Conflict(message);
    default:
      return Status(StatusCode::kUnavailable, message);
  }
}

// The receiving end of an event stream: splits the body into lines and hands each complete
// event's data to `on_event`, which returns false to stop reading.
struct StreamReader {
  std::function<bool(const std::string& data)> on_event;
  std::string pending;  // bytes after the last complete line
  std::string data;     // data lines of the event being read
  bool stopped = false;
  std::string first_bytes;  // the start of the body, which is the message of an error reply

  bool Feed(const char* bytes, size_t size) {
    if (first_bytes.size() < 4096)
      first_bytes.append(bytes, std::min(size, 4096 - first_bytes.size()));
    pending.append(bytes, size);
    size_t start = 0;
    for (size_t end; (end = pending.find('\n', start)) != std::string::npos; start = end + 1) {
      std::string line = pending.substr(start, end - start);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) {
        if (!data.empty() && !on_event(data)) stopped = true;
        data.clear();
        if (stopped) return false;
      } else if (line.rfind("data:", 0) == 0) {
        if (!data.empty()) data.push_back('\n');
        data += line.substr(line.size() > 5 && line[5] == ' ' ? 6 : 5);
      }  // "id:" repeats the position in the data; ":" lines are heartbeats
    }
    pending.erase(0, start);
    return true;
  }
};

size_t AppendBody(char* bytes, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(bytes, size * count);
  return size * count;
}

size_t FeedStream(char* bytes, size_t size, size_t count, void* user) {
  auto* reader = static_cast<StreamReader*>(user);
  return reader->Feed(bytes, size * count) ? size * count : 0;  // 0 ends the transfer
}

int AbortWhenInterrupted(void*, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return interrupted.load() ? 1 : 0;
}

// A client for one server: base URL and bearer token. The token is sent only in the
// Authorization header and never logged.
class ServerClient {
 public:
  ServerClient(std::string base_url, std::string token)
      : base_url_(std::move(base_url)), token_(std::move(token)) {
    while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
  }

  const std::string& base_url() const { return base_url_; }

  // Sends one request. Fails with kBusy naming the server when it cannot be reached.
  Result<HttpReply> Send(const std::string& method, const std::string& path,
                         const std::string& body = "", const std::string& idempotency_key = "") {
    HttpReply reply;
    auto handle = NewHandle(path, idempotency_key, !body.empty());
    if (!handle.ok()) return handle.status();
    CURL* curl = handle->first.get();
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
    if (!body.empty()) {
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    }
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, kRequestTimeoutMs);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, AppendBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
    ROLLBOOK_RETURN_IF_ERROR(Perform(curl, method + " " + path));
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
    if (reply.status == 401 && token_.empty()) {
      return Status(StatusCode::kPermissionDenied,
                    "the server at " + base_url_ +
                        " requires a token: set ROLLBOOK_TOKEN to one that `rollbook token add` "
                        "printed on the server");
    }
    return reply;
  }

  // Reads the event stream at `path` until it ends, `on_event` returns false or the user
  // interrupts. An error reply fails with the server's message, and a lost connection with kBusy.
  Status Stream(const std::string& path, const std::function<bool(const std::string&)>& on_event) {
    StreamReader reader{on_event, "", "", false, ""};
    auto handle = NewHandle(path, "", false);
    if (!handle.ok()) return handle.status();
    CURL* curl = handle->first.get();
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, kStreamStallSeconds);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, FeedStream);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reader);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, AbortWhenInterrupted);
    Status performed = Perform(curl, "GET " + path);
    if (reader.stopped || interrupted.load()) return Status::Ok();
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 400) return FromReply(HttpReply{status, reader.first_bytes}, "the event stream");
    return performed.ok() ? Status(StatusCode::kBusy, "the server closed the event stream")
                          : performed;
  }

 private:
  // A prepared handle and the header list it points to, which must live as long as the handle.
  Result<std::pair<CurlHandle, HeaderList>> NewHandle(const std::string& path,
                                                      const std::string& idempotency_key,
                                                      bool json_body) {
    CurlHandle curl(curl_easy_init());
    if (!curl) return Internal("cannot start an HTTP request: curl_easy_init() failed");
    curl_slist* headers = nullptr;
    if (!token_.empty())
      headers = curl_slist_append(headers, ("Authorization: Bearer " + token_).c_str());
    if (json_body) headers = curl_slist_append(headers, "Content-Type: application/json");
    if (!idempotency_key.empty()) {
      headers = curl_slist_append(headers, ("Idempotency-Key: " + idempotency_key).c_str());
    }
    HeaderList list(headers);
    curl_easy_setopt(curl.get(), CURLOPT_URL, (base_url_ + path).c_str());
    curl_easy_setopt(curl.get(), CURLOPT_HTTPHEADER, list.get());
    curl_easy_setopt(curl.get(), CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl.get(), CURLOPT_PROTOCOLS_STR, "http,https");
    return std::make_pair(std::move(curl), std::move(list));
  }

  Status Perform(CURL* curl, const std::string& request_name) {
    CURLcode code = curl_easy_perform(curl);
    if (code == CURLE_OK || code == CURLE_WRITE_ERROR || code == CURLE_ABORTED_BY_CALLBACK) {
      return Status::Ok();
    }
    if (code == CURLE_URL_MALFORMAT || code == CURLE_UNSUPPORTED_PROTOCOL) {
      return InvalidArgument("invalid --server '" + base_url_ + "': " + curl_easy_strerror(code) +
                             "; use a URL such as http://127.0.0.1:8080");
    }
    return Status(StatusCode::kBusy, "cannot reach the rollbook server at " + base_url_ + " (" +
                                         request_name + "): " + curl_easy_strerror(code) +
                                         "; check --server and that `rollbook serve` runs there");
  }

  std::string base_url_;
  std::string token_;
};

// Returns the server's head position, from which the rollback's events are followed.
Result<uint64_t> ReadHead(ServerClient& client) {
  auto reply = client.Send("GET", "/v1/events?limit=1");
  if (!reply.ok()) return reply.status();
  if (reply->status != 200) return FromReply(*reply, "reading the head");
  json body = json::parse(reply->body, nullptr, /*allow_exceptions=*/false);
  if (!body.is_object() || !body.contains("head") || !body["head"].is_number_unsigned()) {
    return Status(StatusCode::kUnavailable, "the server at " + client.base_url() +
                                                " sent no head position; is it rollbook serve?");
  }
  return body["head"].get<uint64_t>();
}

// Prints the progress of `rollback_id` from the events after `after` until it completes.
// Reconnects from the last event seen when the stream breaks.
Status FollowProgress(ServerClient& client, const GlobalOptions& options,
                      const std::string& rollback_id, uint64_t after) {
  int64_t start_ns = 0;
  bool completed = false;
  for (int reconnects = 0; !completed && !interrupted.load(); ++reconnects) {
    std::string path = "/v1/subscribe?rollback=" + rollback_id + "&after=" + std::to_string(after);
    Status streamed = client.Stream(path, [&](const std::string& data) {
      auto event = ledger::EventFromJson(data);
      if (!event.ok()) {
        spdlog::warn("skipping an event of {} that does not parse: {}", rollback_id,
                     event.status().message());
        return true;
      }
      after = event->position;
      if (start_ns == 0) start_ns = event->recorded_at_ns;
      std::string line = commands::DescribeProgress(*event, start_ns);
      if (!line.empty() && !options.json) std::cout << line << std::endl;
      completed = event->type == "rollbackCompleted";
      return !completed;
    });
    if (completed || interrupted.load()) break;
    if (streamed.code() != StatusCode::kBusy) return streamed;
    if (reconnects >= kMaxReconnects) return streamed;
    auto backoff = std::chrono::milliseconds(std::min(5000, 250 << std::min(reconnects, 5)));
    spdlog::warn("event stream of {} broke ({}); reconnecting after position {} in {} ms",
                 rollback_id, streamed.message(), after, backoff.count());
    std::this_thread::sleep_for(backoff);
  }
  return Status::Ok();
}

// Returns the rollback's state once the server's rollbacks projection shows it completed.
Result<json> FinalState(ServerClient& client, const std::string& rollback_id) {
  auto deadline = std::chrono::steady_clock::now() + kFinalStateWait;
  for (;;) {
    auto reply = client.Send("GET", "/v1/rollbacks/" + rollback_id);
    if (!reply.ok()) return reply.status();
    if (reply->status != 200 && reply->status != 404)
      return FromReply(*reply, "reading " + rollback_id);
    json state = json::parse(reply->body, nullptr, /*allow_exceptions=*/false);
    bool finished =
        reply->status == 200 && state.is_object() && !state.value("outcome", "").empty();
    if (finished) return state;
    if (std::chrono::steady_clock::now() > deadline) {
      return Status(StatusCode::kTimeout,
                    rollback_id +
                        " completed, but the server's rollbacks "
                        "projection has not caught up; see GET /v1/rollbacks/" +
                        rollback_id);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace

int RunThroughServer(const GlobalOptions& options, const std::string& command, const json& args,
                     bool follow) {
  if (options.server_url.rfind("http://", 0) != 0 && options.server_url.rfind("https://", 0) != 0) {
    return ReportFailure(kExitUsage, "invalid --server '" + options.server_url +
                                         "': use an http:// or https:// URL such as "
                                         "http://127.0.0.1:8080");
  }
  const char* token = std::getenv("ROLLBOOK_TOKEN");
  std::string token_text = token == nullptr ? "" : token;
  // A token with a line break or another control character would corrupt the request headers.
  bool printable = std::all_of(token_text.begin(), token_text.end(), [](char c) {
    return static_cast<unsigned char>(c) > 0x20 && c != 0x7f;
  });
  if (!printable) {
    return ReportFailure(
        kExitUsage,
        "invalid ROLLBOOK_TOKEN: it contains a space, line break or other control "
        "character; set it to the token exactly as `rollbook token add` printed it");
  }
  ServerClient client(options.server_url, token_text);

  uint64_t after = 0;
  if (follow) {
    auto head = ReadHead(client);
    if (!head.ok()) return ReportFailure(head.status());
    after = *head;
  }
  json request = {{"command", command}, {"args", args}};
  auto reply =
      client.Send("POST", "/v1/commands", request.dump(), args.value("idempotency_key", ""));
  if (!reply.ok()) return ReportFailure(reply.status());
  if (reply->status != 200) return ReportFailure(FromReply(*reply, command));
  json result = json::parse(reply->body, nullptr, /*allow_exceptions=*/false);
  if (!result.is_object()) {
    return ReportFailure(Status(StatusCode::kUnavailable, "the server sent a reply to " + command +
                                                              " that is not a JSON object"));
  }
  std::string rollback_id = result.value("rollback_id", "");
  if (!options.json || !follow) PrintResult(options, command, result);
  if (!follow || rollback_id.empty()) return kExitOk;

  // Ctrl-C stops following only: the rollback keeps running on the server.
  std::signal(SIGINT, OnInterrupt);
  std::signal(SIGTERM, OnInterrupt);
  Status followed = FollowProgress(client, options, rollback_id, after);
  if (interrupted.load()) {
    std::cerr << "rollbook: stopped following; " << rollback_id
              << " keeps running on the server. Cancel it with `rollbook --server "
              << options.server_url << " cancel " << rollback_id << "`\n";
    return kExitFailed;
  }
  if (!followed.ok()) return ReportFailure(followed);
  auto state = FinalState(client, rollback_id);
  if (!state.ok()) return ReportFailure(state.status());
  PrintFinalState(options, *state);
  return ExitForRollback(*state);
}

}  // namespace rollbook::cli
