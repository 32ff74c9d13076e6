// rollbook's HTTP server: the audit API over Boost.Beast (see docs/http-api.md).
//
// Threads. A small pool of I/O threads accepts connections and reads and writes HTTP. A
// separate pool runs the endpoint handlers, so a slow ledger read or command does not stall the
// I/O threads. Each Server-Sent Events stream has a thread of its own (tools/server/sse_hub.h).
//
// Security. Without a tokens file the server listens only on a loopback address and every
// request acts as "local". With one, every endpoint except /healthz and /readyz requires a
// bearer token whose scope covers the endpoint. Requests are logged with method, route template,
// status, duration and actor, never with their headers.
//
// Shutdown. Stop() (or SIGTERM/SIGINT with handle_signals) stops accepting, closes idle
// connections, lets requests in progress finish with "Connection: close", ends event streams
// and returns from Run(). The caller then stops the projections and closes the ledger.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "ledger/status.h"

namespace rollbook::ledger {
class Ledger;
}
namespace rollbook::projections {
class ProjectionRunner;
}
namespace rollbook::commands {
class CommandService;
}

namespace rollbook::server {

struct ServerOptions {
  std::string listen = "127.0.0.1:8080";  // "host:port" or "[v6]:port"; port 0 picks a free one
  std::string tokens_file;                // empty: no authentication, loopback addresses only
  size_t io_threads = 2;
  size_t handler_threads = 4;
  size_t max_connections = 256;      // more get a 503 response and are closed; streams count too
  size_t max_subscriptions = 64;     // more GET /v1/subscribe get a 429 response
  size_t max_queued_requests = 256;  // requests waiting for a handler thread; more get 429
  size_t max_header_bytes = 8 * 1024;
  size_t max_body_bytes = 64 * 1024;
  // Time allowed to receive a whole request, and to send a response. A connection idle for
  // this long between requests is closed too.
  std::chrono::milliseconds request_timeout{10000};
  std::chrono::milliseconds heartbeat_interval{15000};  // event streams
  bool handle_signals = false;                          // stop on SIGTERM and SIGINT
};

class HttpServer {
 public:
  // Loads the tokens file and binds the listening socket. Fails with kInvalidArgument for a
  // malformed address or a non-loopback address without a tokens file, with the tokens file's
  // error, and with kIoError when the address cannot be bound. `ledger` and the optional
  // `runner` and `commands` must outlive the server.
  static Result<std::unique_ptr<HttpServer>> Create(ledger::Ledger& ledger,
                                                    projections::ProjectionRunner* runner,
                                                    commands::CommandService* commands,
                                                    ServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Serves until Stop() or a handled signal; returns once every connection has ended.
  void Run();
  // Starts a graceful shutdown. Safe from any thread, before or during Run(), more than once.
  void Stop();

  int port() const;
  std::string url() const;  // such as "http://127.0.0.1:8080"
  bool authenticated() const;

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace rollbook::server
