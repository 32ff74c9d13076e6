#include "commands/drivers/redis_client.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <algorithm>
#include <cctype>
#include <cerrno>

namespace rollbook::commands {
namespace {

timeval ToTimeval(std::chrono::milliseconds timeout) {
  int64_t ms = std::max<int64_t>(1, timeout.count());
  return timeval{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
}

std::string Upper(const std::string& text) {
  std::string upper = text;
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return upper;
}

// Redis error replies start with an upper-case code word, such as "WRONGPASS" or "ERR".
StatusCode CodeOfErrorReply(std::string_view message) {
  std::string_view code = message.substr(0, message.find(' '));
  if (code == "NOAUTH" || code == "WRONGPASS" || code == "NOPERM") {
    return StatusCode::kPermissionDenied;
  }
  if (code == "LOADING" || code == "BUSY" || code == "MASTERDOWN") return StatusCode::kUnavailable;
  return StatusCode::kInvalidArgument;
}

}  // namespace

void RedisReplyDeleter::operator()(redisReply* reply) const { freeReplyObject(reply); }
void RedisConnection::ContextDeleter::operator()(redisContext* context) const {
  redisFree(context);
}

Status RedisConnection::ConnectionError(const std::string& command, int error_number) const {
  const redisContext* context = context_.get();
  std::string reason = context != nullptr && context->err != 0 ? context->errstr : "out of memory";
  if (context != nullptr && context->err == REDIS_ERR_IO &&
      (error_number == EAGAIN || error_number == EWOULDBLOCK)) {
    return Status(StatusCode::kTimeout, "Redis at " + endpoint_.Address() + " did not answer " +
                                            command + " within the step's timeout");
  }
  return Status(StatusCode::kUnavailable,
                "Redis at " + endpoint_.Address() + " failed during " + command + ": " + reason);
}

Status RedisConnection::ErrorReply(const std::string& command, const redisReply& reply) const {
  std::string message(reply.str, reply.len);
  StatusCode code = CodeOfErrorReply(message);
  std::string fix;
  if (code == StatusCode::kPermissionDenied) fix = "; check the step's password (and username)";
  return Status(code,
                "Redis at " + endpoint_.Address() + " rejected " + command + ": " + message + fix);
}

Result<RedisConnection> RedisConnection::Connect(const RedisEndpoint& endpoint,
                                                 std::chrono::milliseconds timeout) {
  redisContext* raw =
      redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port, ToTimeval(timeout));
  RedisConnection connection(raw, endpoint);
  if (raw == nullptr || raw->err != 0) {
    std::string reason = raw != nullptr ? raw->errstr : "out of memory";
    return Status(StatusCode::kUnavailable,
                  "cannot connect to Redis at " + endpoint.Address() + ": " + reason +
                      "; check the step's host and port and that redis-server is running");
  }
  redisSetTimeout(raw, ToTimeval(timeout));

  if (!endpoint.password.empty()) {
    std::vector<std::string> auth = {"AUTH"};
    if (!endpoint.username.empty()) auth.push_back(endpoint.username);
    auth.push_back(endpoint.password);
    Result<RedisReplyPtr> reply = connection.Command(auth);
    if (!reply.ok()) return reply.status();
  }
  // PING reveals a server that wants a password before any real work starts.
  Result<RedisReplyPtr> pong = connection.Command({"PING"});
  if (!pong.ok()) return pong.status();
  if (endpoint.db != 0) {
    Result<RedisReplyPtr> selected = connection.Command({"SELECT", std::to_string(endpoint.db)});
    if (!selected.ok()) return selected.status();
  }
  return connection;
}

Result<RedisReplyPtr> RedisConnection::Command(const std::vector<std::string>& args) {
  Result<std::vector<RedisReplyPtr>> replies = Pipeline({args});
  if (!replies.ok()) return replies.status();
  RedisReplyPtr reply = std::move(replies->front());
  if (reply->type == REDIS_REPLY_ERROR) return ErrorReply(Upper(args.front()), *reply);
  return reply;
}

Result<std::vector<RedisReplyPtr>> RedisConnection::Pipeline(
    const std::vector<std::vector<std::string>>& commands) {
  redisContext* context = context_.get();
  for (const std::vector<std::string>& args : commands) {
    std::vector<const char*> argv;
    std::vector<size_t> lengths;
    for (const std::string& arg : args) {
      argv.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    if (redisAppendCommandArgv(context, static_cast<int>(argv.size()), argv.data(),
                               lengths.data()) != REDIS_OK) {
      int error_number = errno;
      return ConnectionError(Upper(args.front()), error_number);
    }
  }
  std::vector<RedisReplyPtr> replies;
  replies.reserve(commands.size());
  for (const std::vector<std::string>& args : commands) {
    void* reply = nullptr;
    if (redisGetReply(context, &reply) != REDIS_OK || reply == nullptr) {
      int error_number = errno;
      return ConnectionError(Upper(args.front()), error_number);
    }
    replies.emplace_back(static_cast<redisReply*>(reply));
  }
  return replies;
}

Status RedisConnection::Scan(
    const std::string& pattern, int64_t count,
    const std::function<Status(const std::vector<std::string>&)>& on_batch) {
  std::string cursor = "0";
  do {
    Result<RedisReplyPtr> reply =
        Command({"SCAN", cursor, "MATCH", pattern, "COUNT", std::to_string(count)});
    if (!reply.ok()) return reply.status();
    const redisReply& answer = **reply;
    if (answer.type != REDIS_REPLY_ARRAY || answer.elements != 2 ||
        answer.element[0]->type != REDIS_REPLY_STRING ||
        answer.element[1]->type != REDIS_REPLY_ARRAY) {
      return Internal("Redis at " + endpoint_.Address() + " sent an unexpected SCAN reply");
    }
    cursor.assign(answer.element[0]->str, answer.element[0]->len);
    std::vector<std::string> keys;
    const redisReply& found = *answer.element[1];
    for (size_t i = 0; i < found.elements; ++i) {
      keys.emplace_back(found.element[i]->str, found.element[i]->len);
    }
    if (!keys.empty()) ROLLBOOK_RETURN_IF_ERROR(on_batch(keys));
  } while (cursor != "0");
  return Status::Ok();
}

}  // namespace rollbook::commands
