// The Beast transport of the HTTP API: listening, connections, limits and shutdown. Everything
// about routes and payloads is in api.cc.
#include "tools/server/http_server.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <csignal>
#include <mutex>
#include <thread>
#include <vector>

#include "ledger/ledger.h"
#include "projections/runner.h"
#include "tools/server/api.h"
#include "tools/server/background_jobs.h"
#include "tools/server/response_caches.h"
#include "tools/server/sse_hub.h"

namespace rollbook::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

struct ListenAddress {
  asio::ip::address address;
  uint16_t port = 0;
};

Result<ListenAddress> ParseListenAddress(const std::string& text) {
  std::string host;
  std::string port;
  if (!text.empty() && text[0] == '[') {
    size_t close = text.find("]:");
    if (close == std::string::npos) {
      return InvalidArgument("invalid listen address '" + text + "'; use [v6-address]:port");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string::npos) {
      return InvalidArgument("invalid listen address '" + text + "'; use host:port");
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }

  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code error;
  ListenAddress parsed;
  parsed.address = asio::ip::make_address(host, error);
  if (error) {
    return InvalidArgument("invalid listen address '" + text +
                           "': the host must be a numeric IP address or localhost");
  }

  char* end = nullptr;
  unsigned long number = std::strtoul(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || number > 65535) {
    return InvalidArgument("invalid port '" + port + "' in listen address '" + text +
                           "'; use 0 to 65535");
  }
  parsed.port = static_cast<uint16_t>(number);
  return parsed;
}

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

class Session;

// The server's shared state. HttpServer::Impl derives from it, and it has a name of its own so
// that Session, which is not a member of HttpServer, can refer to it.
struct ServerCore {
  ServerCore(ledger::Ledger& ledger_in, projections::ProjectionRunner* runner_in,
             commands::CommandService* commands_in, ServerOptions options_in)
      : ledger(ledger_in),
        runner(runner_in),
        commands(commands_in),
        options(std::move(options_in)),
        io(static_cast<int>(std::max<size_t>(1, options.io_threads))),
        acceptor(io),
        signals(io),
        handlers(std::max<size_t>(1, options.handler_threads)),
        verify(ledger),
        sse(ledger, SseOptions{options.heartbeat_interval, options.request_timeout,
                               options.max_subscriptions}) {}

  void BuildApi();
  void Accept();
  void RejectConnection(tcp::socket socket);
  void BeginShutdown(const char* why);
  void Register(const std::shared_ptr<Session>& session);
  ScrapeGauges Gauges();

  ledger::Ledger& ledger;
  projections::ProjectionRunner* runner;
  commands::CommandService* commands;
  ServerOptions options;

  asio::io_context io;
  tcp::acceptor acceptor;
  asio::signal_set signals;
  asio::thread_pool handlers;
  std::unique_ptr<TokenAuthenticator> tokens;
  MetricsRegistry metrics;
  VerifyJob verify;
  std::unique_ptr<RebuildJobs> rebuilds;
  ResponseCaches caches;
  SseHub sse;
  std::unique_ptr<Api> api;
  int port = 0;
  std::string url;

  std::atomic<size_t> connections{0};
  std::atomic<size_t> queued{0};
  std::atomic<bool> stopping{false};
  std::atomic<uint64_t> rejected_connections{0};

  std::mutex sessions_mutex;
  std::vector<std::weak_ptr<Session>> sessions;  // guarded by sessions_mutex
};

struct HttpServer::Impl : ServerCore {
  using ServerCore::ServerCore;
};

// One HTTP connection: reads requests one after another (keep-alive), hands each to the handler
// pool and writes the response, or hands the socket over to an event stream.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, ServerCore& server) : stream_(std::move(socket)), server_(server) {
    ++server_.connections;
  }
  ~Session() { --server_.connections; }

  void Start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->Read(); });
  }

  // Closes the connection unless a request is being received, handled or responded to.
  void CloseIfIdle() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      bool receiving = self->parser_ && self->parser_->got_some();
      if (self->busy_ || receiving) return;
      beast::error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
      self->stream_.socket().close(ignored);
    });
  }

 private:
  void Read() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(server_.options.max_header_bytes));
    parser_->body_limit(server_.options.max_body_bytes);
    stream_.expires_after(server_.options.request_timeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code error, size_t) { self->OnRead(error); });
  }

  void OnRead(beast::error_code error) {
    if (error) return OnReadError(error);
    busy_ = true;
    Clock::time_point started = Clock::now();
    http::request<http::string_body> message = parser_->release();
    bool keep_alive = message.keep_alive();

    HttpRequest request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    for (const auto& field : message) {
      std::string name(field.name_string());
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      request.headers.emplace_back(std::move(name), std::string(field.value()));
    }
    request.body = std::move(message.body());

    // A cached page is served on this I/O thread, and everything else goes to a handler thread.
    if (auto cached = server_.api->HandleFromCache(request)) {
      return Respond(std::move(*cached), request.method, keep_alive, started);
    }
    if (server_.queued.load() >= server_.options.max_queued_requests) {
      HandledRequest busy;
      busy.route = "unmatched";
      busy.actor = "-";
      busy.response = ErrorResponse(429, "too_many_requests",
                                    "the server has too many requests in progress; retry later");
      busy.response.headers.emplace_back("Retry-After", "1");
      return Respond(std::move(busy), request.method, keep_alive, started);
    }
    // The work guard keeps the I/O threads running until the response is posted back, so a
    // shutdown does not drop a request that is in a handler thread.
    ++server_.queued;
    asio::post(server_.handlers, [self = shared_from_this(), request = std::move(request),
                                  work = asio::make_work_guard(server_.io), keep_alive,
                                  started]() mutable {
      --self->server_.queued;
      HandledRequest handled = self->server_.api->Handle(request);
      asio::post(
          self->stream_.get_executor(),
          [self, handled = std::move(handled), method = std::move(request.method), keep_alive,
           started]() mutable { self->Respond(std::move(handled), method, keep_alive, started); });
    });
  }

  void OnReadError(beast::error_code error) {
    if (error == http::error::end_of_stream) return Close();
    if (error == beast::error::timeout) {
      if (parser_ && parser_->got_some()) {
        spdlog::info("http: closed a connection that sent no complete request within {} ms",
                     server_.options.request_timeout.count());
        server_.metrics.CountRequest("-", "unmatched", 408,
                                     server_.options.request_timeout.count() / 1000.0);
      }
      return Close();
    }
    bool parse_error = error.category() == beast::error_code(http::error::bad_target).category();
    if (!parse_error || error == http::error::partial_message ||
        !(parser_ && parser_->got_some())) {
      return Close();  // reset, aborted by shutdown, or the client left mid-request
    }

    // A malformed or oversized request gets one error response, then the connection closes.
    HandledRequest handled;
    handled.route = "unmatched";
    handled.actor = "-";
    if (error == http::error::header_limit) {
      handled.response =
          ErrorResponse(431, "header_too_large",
                        "request header is larger than " +
                            std::to_string(server_.options.max_header_bytes) + " bytes");
    } else if (error == http::error::body_limit) {
      handled.response =
          ErrorResponse(413, "body_too_large",
                        "request body is larger than " +
                            std::to_string(server_.options.max_body_bytes) + " bytes");
    } else {
      handled.response =
          ErrorResponse(400, "invalid_argument", "malformed HTTP request: " + error.message());
    }
    busy_ = true;
    Respond(std::move(handled), "-", /*keep_alive=*/false, Clock::now());
  }

  void Respond(HandledRequest handled, const std::string& method, bool keep_alive,
               Clock::time_point started) {
    HttpResponse& response = handled.response;
    double seconds = SecondsSince(started);
    server_.metrics.CountRequest(method, handled.route, response.status, seconds);
    spdlog::info("http {} {} {} {:.1f}ms actor={}", method, handled.route, response.status,
                 seconds * 1000, handled.actor);

    if (response.sse) return HandOverToStream(*response.sse, handled.actor);

    auto message = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(response.status), 11);
    message->set(http::field::server, "rollbook");
    message->set(http::field::content_type, response.content_type);
    for (const auto& [name, value] : response.headers) message->set(name, value);
    message->body() = std::move(response.body);
    message->keep_alive(keep_alive && !server_.stopping);
    message->prepare_payload();

    stream_.expires_after(server_.options.request_timeout);
    http::async_write(stream_, *message,
                      [self = shared_from_this(), message](beast::error_code error, size_t) {
                        self->busy_ = false;
                        if (error || !message->keep_alive()) return self->Close();
                        self->Read();
                      });
  }

  void HandOverToStream(const SseStart& start, const std::string& actor) {
    stream_.expires_never();
    beast::error_code error;
    tcp::socket socket = stream_.release_socket();
    int fd = socket.release(error);
    if (error) {
      spdlog::error("http: cannot hand the connection to an event stream: {}", error.message());
      return;
    }
    server_.sse.Start(fd, start, actor);
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.socket().close(ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  ServerCore& server_;
  bool busy_ = false;  // a request is being handled or its response written; strand only
};

void ServerCore::BuildApi() {
  ApiDependencies dependencies;
  dependencies.ledger = &ledger;
  dependencies.runner = runner;
  dependencies.commands = commands;
  dependencies.metrics = &metrics;
  dependencies.tokens = tokens.get();
  dependencies.verify = &verify;
  dependencies.rebuilds = rebuilds.get();
  dependencies.caches = &caches;
  dependencies.gauges = [this] { return Gauges(); };
  dependencies.subscription_available = [this] { return sse.HasCapacity(); };
  api = std::make_unique<Api>(std::move(dependencies));
}

ScrapeGauges ServerCore::Gauges() {
  ScrapeGauges gauges;
  gauges.ledger_head = ledger.HeadPosition();
  gauges.subscriptions = sse.active();
  gauges.open_connections = connections.load() + gauges.subscriptions;
  gauges.max_subscription_lag = sse.MaxLag();
  if (runner != nullptr) {
    for (const auto& status : runner->Statuses()) {
      uint64_t lag = gauges.ledger_head > status.applied_position
                         ? gauges.ledger_head - status.applied_position
                         : 0;
      gauges.projection_lag.emplace_back(status.name, lag);
    }
  }
  return gauges;
}

void ServerCore::Register(const std::shared_ptr<Session>& session) {
  std::lock_guard<std::mutex> lock(sessions_mutex);
  std::erase_if(sessions, [](const std::weak_ptr<Session>& weak) { return weak.expired(); });
  sessions.push_back(session);
}

void ServerCore::Accept() {
  acceptor.async_accept(asio::make_strand(io), [this](beast::error_code error, tcp::socket socket) {
    if (error == asio::error::operation_aborted || stopping) return;
    if (error) {
      spdlog::warn("http: accept failed: {}", error.message());
    } else if (connections.load() + sse.active() >= options.max_connections) {
      RejectConnection(std::move(socket));
    } else {
      auto session = std::make_shared<Session>(std::move(socket), *this);
      Register(session);
      session->Start();
    }
    Accept();
  });
}

void ServerCore::RejectConnection(tcp::socket socket) {
  uint64_t rejected = ++rejected_connections;
  if (rejected == 1 || rejected % 100 == 0) {
    spdlog::warn("http: {} open connections reached the limit; rejected {} so far",
                 options.max_connections, rejected);
  }
  metrics.CountRequest("-", "unmatched", 503, 0);
  static const std::string kResponse = [] {
    std::string body =
        "{\"error\":{\"code\":\"unavailable\",\"message\":\"too many open connections; "
        "retry later\"}}\n";
    return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
           "Content-Length: " +
           std::to_string(body.size()) + "\r\nConnection: close\r\nRetry-After: 1\r\n\r\n" + body;
  }();
  auto owned = std::make_shared<tcp::socket>(std::move(socket));
  asio::async_write(*owned, asio::buffer(kResponse), [owned](beast::error_code, size_t) {
    beast::error_code ignored;
    owned->shutdown(tcp::socket::shutdown_both, ignored);
    owned->close(ignored);
  });
}

void ServerCore::BeginShutdown(const char* why) {
  if (stopping.exchange(true)) return;
  spdlog::info("http: stopping ({}); finishing requests in progress", why);
  beast::error_code ignored;
  acceptor.close(ignored);
  signals.cancel(ignored);
  std::vector<std::shared_ptr<Session>> open;
  {
    std::lock_guard<std::mutex> lock(sessions_mutex);
    for (auto& weak : sessions) {
      if (auto session = weak.lock()) open.push_back(std::move(session));
    }
  }
  for (auto& session : open) session->CloseIfIdle();
  asio::post(handlers, [this] { sse.StopAll(); });
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() {
  Stop();
  impl_->sse.StopAll();
  impl_->handlers.join();
}

Result<std::unique_ptr<HttpServer>> HttpServer::Create(ledger::Ledger& ledger,
                                                       projections::ProjectionRunner* runner,
                                                       commands::CommandService* commands,
                                                       ServerOptions options) {
  auto address = ParseListenAddress(options.listen);
  if (!address.ok()) return address.status();
  if (options.tokens_file.empty() && !address->address.is_loopback()) {
    return InvalidArgument("refusing to listen on " + options.listen +
                           " without authentication; pass --tokens FILE (create tokens with "
                           "`rollbook token add`) or listen on 127.0.0.1");
  }

  auto impl = std::make_unique<Impl>(ledger, runner, commands, options);
  if (!options.tokens_file.empty()) {
    auto tokens = TokenAuthenticator::Open(options.tokens_file);
    if (!tokens.ok()) return tokens.status();
    impl->tokens = std::move(tokens).value();
  }
  if (runner != nullptr) impl->rebuilds = std::make_unique<RebuildJobs>(*runner);
  impl->BuildApi();

  tcp::endpoint endpoint(address->address, address->port);
  beast::error_code error;
  impl->acceptor.open(endpoint.protocol(), error);
  if (!error) impl->acceptor.set_option(asio::socket_base::reuse_address(true), error);
  if (!error) impl->acceptor.bind(endpoint, error);
  if (!error) impl->acceptor.listen(asio::socket_base::max_listen_connections, error);
  if (error) return IoError("cannot listen on " + options.listen + ": " + error.message());

  impl->port = impl->acceptor.local_endpoint().port();
  std::string host = address->address.is_v6() ? "[" + address->address.to_string() + "]"
                                              : address->address.to_string();
  impl->url = "http://" + host + ":" + std::to_string(impl->port);
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

void HttpServer::Run() {
  Impl& impl = *impl_;
  if (impl.tokens) {
    spdlog::info("http: serving {} with {} tokens from {}", impl.url, impl.tokens->size(),
                 impl.options.tokens_file);
  } else {
    spdlog::warn(
        "http: serving {} WITHOUT authentication (loopback only); every request acts "
        "as 'local'. Pass --tokens FILE to require tokens.",
        impl.url);
  }
  if (impl.options.handle_signals) {
    impl.signals.add(SIGINT);
    impl.signals.add(SIGTERM);
    impl.signals.async_wait([&impl](beast::error_code error, int signal) {
      if (!error) impl.BeginShutdown(signal == SIGTERM ? "SIGTERM" : "SIGINT");
    });
  }
  impl.Accept();

  std::vector<std::thread> threads;
  for (size_t i = 1; i < impl.options.io_threads; ++i)
    threads.emplace_back([&impl] { impl.io.run(); });
  impl.io.run();
  for (auto& thread : threads) thread.join();

  // Every connection has ended; end what runs beside them.
  impl.sse.StopAll();
  if (impl.rebuilds) impl.rebuilds->Stop();
  impl.verify.Stop();
  spdlog::info("http: stopped");
}

void HttpServer::Stop() {
  asio::post(impl_->io, [impl = impl_.get()] { impl->BeginShutdown("stop requested"); });
}

int HttpServer::port() const { return impl_->port; }
std::string HttpServer::url() const { return impl_->url; }
bool HttpServer::authenticated() const { return impl_->tokens != nullptr; }

}  // namespace rollbook::server
