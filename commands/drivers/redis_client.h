// A small RAII wrapper over hiredis (0.14 API) for the redis driver.
//
// Messages name the server as host:port and the command by its name only: arguments are never
// shown, because AUTH carries the password.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ledger/status.h"

struct redisContext;
struct redisReply;

namespace rollbook::commands {

struct RedisEndpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string username;  // empty for the default user
  std::string password;  // empty when the server needs no AUTH; never log it
  int db = 0;

  std::string Address() const { return host + ":" + std::to_string(port); }
  std::string Location() const { return Address() + "/" + std::to_string(db); }
};

struct RedisReplyDeleter {
  void operator()(redisReply* reply) const;
};
using RedisReplyPtr = std::unique_ptr<redisReply, RedisReplyDeleter>;

// One connection. Not thread-safe; movable, closed on destruction.
class RedisConnection {
 public:
  // Connects within `timeout`, which also bounds each later command, then sends AUTH when a
  // password is set and SELECT when db is not 0. Fails with kUnavailable when the server cannot
  // be reached and kPermissionDenied when AUTH is rejected or missing, naming host:port.
  static Result<RedisConnection> Connect(const RedisEndpoint& endpoint,
                                         std::chrono::milliseconds timeout);

  // Sends one command (binary-safe arguments). An error reply fails the call, with the
  // command's name and the server's message.
  Result<RedisReplyPtr> Command(const std::vector<std::string>& args);

  // Sends the commands in one pipeline and returns their replies in order. Error replies are
  // returned as replies; only a broken connection fails the call.
  Result<std::vector<RedisReplyPtr>> Pipeline(
      const std::vector<std::vector<std::string>>& commands);

  // Calls `on_batch` with each batch of keys that SCAN ... MATCH `pattern` COUNT `count` returns.
  // SCAN may return a key more than once. Stops at the first failure of `on_batch`.
  Status Scan(const std::string& pattern, int64_t count,
              const std::function<Status(const std::vector<std::string>&)>& on_batch);

  const RedisEndpoint& endpoint() const { return endpoint_; }

 private:
  struct ContextDeleter {
    void operator()(redisContext* context) const;
  };
  RedisConnection(redisContext* context, RedisEndpoint endpoint)
      : context_(context), endpoint_(std::move(endpoint)) {}

  // Describes a failed exchange; `error_number` is errno right after the failing call.
  Status ConnectionError(const std::string& command, int error_number) const;
  Status ErrorReply(const std::string& command, const redisReply& reply) const;

  std::unique_ptr<redisContext, ContextDeleter> context_;
  RedisEndpoint endpoint_;
};

}  // namespace rollbook::commands
