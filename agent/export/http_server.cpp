#include "export/http_server.h"

// GCC rejects (-Wtsan) the fences Asio puts around each handler call in a
// TSan build: TSan cannot model them. Handlers pass between threads through
// the scheduler's mutex-guarded queue, which TSan does see, so without the
// fences it still checks every hand-over. Only this file includes Asio.
#if defined(__SANITIZE_THREAD__)
#define BOOST_ASIO_DISABLE_FENCED_BLOCK
#endif

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <utility>

#include "export/http_routes.h"
#include "export/listen_address.h"
#include "util/log.h"

namespace mg {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using namespace std::chrono_literals;

// Connections are cheap here (a socket and a buffer that starts at 512
// bytes), so held-open ones (idle, or slowloris: a header byte a second) no
// longer starve scrapes as civetweb's thread-per-connection did. What bounds
// them is time and number:
//  - the request head (line and headers) must be complete 3s after accept.
//    tcp_stream's expiry is a point in time set once, so dripping bytes does
//    not extend it. Prometheus sends its request at once: 3s is generous.
//  - the answer must be written within 10s: a big metrics page to a client
//    that does not read would otherwise hold the connection forever.
//  - 1024 connections at once; more are closed as soon as accepted, so a
//    flood cannot use up the process' file descriptors.
// No keep-alive: a new TCP connection per 15s scrape costs nothing, and the
// server never has to tell an idle keep-alive connection from a held one.
constexpr auto kHeadDeadline = 3s;
constexpr auto kWriteDeadline = 10s;
// After the answer, what the client still sends is read and dropped until it
// closes: closing a socket with unread bytes sends a reset, which can destroy
// the answer before the client reads it (a 400 to a 70 KB header).
constexpr auto kLingerDeadline = 1s;
constexpr std::size_t kMaxConnections = 1024;
// Holds a burst of connects instead of having the kernel drop SYNs, which
// would add seconds of retransmit to a scrape.
constexpr int kListenBacklog = 512;
// The whole request head; a scrape's is a few hundred bytes.
constexpr std::uint32_t kMaxRequestHead = 16 * 1024;
// Handlers block (bcrypt ~100ms, a reload until the check loop has reloaded),
// so they run on two lanes of one thread each, never on the I/O thread. The
// quick lane answers what needs no bcrypt: scrapes without auth or with a
// remembered login, probes, refusals. Anything that needs bcrypt moves on to
// the slow lane, with reloads. So a flood of wrong passwords queues behind
// itself and not in front of Prometheus. More threads would not verify
// passwords faster: the bcrypt gate runs one at a time (see web_config.cpp).
struct Lanes {
  asio::thread_pool quick{1};
  asio::thread_pool slow{1};
};

// Beast refuses any version but 1.0 and 1.1 as a malformed head; a request
// line that is well formed but names another version deserves 505.
bool asks_for_another_version(std::string_view received) {
  const std::string_view line = received.substr(0, received.find("\r\n"));
  if (line.size() < 8) return false;
  const std::string_view version = line.substr(line.size() - 8);
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  return version.substr(0, 5) == "HTTP/" && digit(version[5]) && version[6] == '.' &&
         digit(version[7]) && line.find(' ') < line.size() - 9;
}

// One client connection, from accept to close. Only the I/O thread touches
// it: a handler lane gets a copy of the parsed request and posts the answer
// back.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, const HttpRoutes& routes, Lanes& lanes,
             std::atomic<std::size_t>& open)
      : stream_(std::move(socket)),
        buffer_(kMaxRequestHead),
        routes_(routes),
        lanes_(lanes),
        open_(open) {
    open_.fetch_add(1, std::memory_order_relaxed);
  }
  ~Connection() { open_.fetch_sub(1, std::memory_order_relaxed); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void start() {
    parser_.header_limit(kMaxRequestHead);
    stream_.expires_after(kHeadDeadline);
    http::async_read_header(
        stream_, buffer_, parser_,
        [self = shared_from_this()](error_code ec, std::size_t) { self->on_head(ec); });
  }

 private:
  void on_head(error_code ec) {
    if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
        ec == beast::error::timeout || ec == asio::error::connection_reset ||
        ec == asio::error::operation_aborted) {
      return;  // nobody to answer; tcp_stream has closed a timed-out socket
    }
    if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
      respond(false, routes_.refuse(400, "the request head is larger than 16 KiB\n"));
      return;
    }
    const auto received = buffer_.cdata();
    if (ec == http::error::bad_version &&
        asks_for_another_version({static_cast<const char*>(received.data()), received.size()})) {
      respond(false, routes_.refuse(505, "HTTP Version Not Supported\n"));
      return;
    }
    if (ec) {
      respond(false, routes_.refuse(400, "bad request: " + ec.message() + "\n"));
      return;
    }
    const auto& head = parser_.get();
    if (head.method() == http::verb::unknown) {
      respond(false, routes_.refuse(400, "unknown method\n"));
      return;
    }
    const std::string_view target(head.target().data(), head.target().size());
    // Only origin-form ("/path?query"): no proxying, no "OPTIONS *".
    if (target.empty() || target.front() != '/') {
      respond(false, routes_.refuse(400, "the request target must be a path\n"));
      return;
    }
    HttpRequest request;
    request.method.assign(head.method_string().data(), head.method_string().size());
    request.path = std::string(target.substr(0, target.find('?')));
    if (const auto it = head.find(http::field::authorization); it != head.end()) {
      request.authorization.assign(it->value().data(), it->value().size());
    }
    const auto length = parser_.content_length();
    request.has_body = (length && *length > 0) || parser_.chunked() ||
                       head.find(http::field::transfer_encoding) != head.end();
    const bool head_only = head.method() == http::verb::head;
    if (request.path == "/-/reload") {
      answer_slowly(std::move(request), head_only);
      return;
    }
    asio::post(lanes_.quick,
               [self = shared_from_this(), request = std::move(request), head_only]() mutable {
                 if (auto response = self->routes_.answer(request, Bcrypt::kNotHere)) {
                   self->send_back(std::move(*response), head_only);
                 } else {
                   self->answer_slowly(std::move(request), head_only);
                 }
               });
  }

  // On the slow lane; called from the I/O thread or the quick lane, it only
  // posts, and touches nothing of the connection but the immutable parts.
  void answer_slowly(HttpRequest request, bool head_only) {
    asio::post(lanes_.slow,
               [self = shared_from_this(), request = std::move(request), head_only]() mutable {
                 self->send_back(*self->routes_.answer(request, Bcrypt::kAllowed), head_only);
               });
  }

  // From a lane back to the I/O thread.
  void send_back(HttpResponse response, bool head_only) {
    asio::post(stream_.get_executor(),
               [self = shared_from_this(), head_only, response = std::move(response)]() mutable {
                 self->respond(head_only, std::move(response));
               });
  }

  void respond(bool head_only, HttpResponse r) {
    response_.version(11);
    response_.result(static_cast<unsigned>(r.status));
    response_.set(http::field::content_type, r.content_type);
    for (const auto& [name, value] : r.headers) response_.insert(name, value);
    response_.content_length(r.body.size());
    response_.keep_alive(false);
    if (!head_only) response_.body() = std::move(r.body);
    stream_.expires_after(kWriteDeadline);
    http::async_write(stream_, response_, [self = shared_from_this()](error_code ec, std::size_t) {
      if (!ec) self->linger();
    });
  }

  void linger() {
    error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    buffer_.clear();
    stream_.expires_after(kLingerDeadline);
    drain();
  }

  void drain() {
    stream_.async_read_some(buffer_.prepare(512),
                            [self = shared_from_this()](error_code ec, std::size_t) {
                              if (!ec) self->drain();
                            });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request_parser<http::empty_body> parser_;
  http::response<http::string_body> response_;
  const HttpRoutes& routes_;
  Lanes& lanes_;
  std::atomic<std::size_t>& open_;
};

}  // namespace

struct HttpServer::Impl {
  HttpOptions options;
  std::unique_ptr<LiveWebConfig> web;  // null without --web.config.file
  std::unique_ptr<HttpRoutes> routes;

  // Set by start(), cleared by stop(); the order of destruction matters (the
  // pool's queued work holds connections, whose sockets belong to io).
  std::unique_ptr<asio::io_context> io;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unique_ptr<asio::steady_timer> accept_pause;
  std::unique_ptr<Lanes> lanes;
  std::thread io_thread;
  std::atomic<std::size_t> open_connections{0};
  int bound_port = 0;

  void listen(const std::string& address, const ListenAddress& where) {
    auto fail = [&](const std::string& why) {
      throw std::runtime_error("cannot listen on \"" + address + "\": " + why);
    };
    error_code ec;
    tcp::endpoint endpoint;
    if (where.host.empty()) {
      endpoint = tcp::endpoint(tcp::v6(), where.port);
    } else {
      tcp::resolver resolver(*io);
      const auto results =
          resolver.resolve(where.host, std::to_string(where.port), tcp::resolver::passive, ec);
      if (ec || results.empty()) fail("cannot resolve \"" + where.host + "\": " + ec.message());
      // As Go does for a name with both: its first IPv4 address.
      endpoint = results.begin()->endpoint();
      for (const auto& result : results) {
        if (result.endpoint().address().is_v4()) {
          endpoint = result.endpoint();
          break;
        }
      }
    }
    acceptor = std::make_unique<tcp::acceptor>(*io);
    auto open_and_bind = [&](const tcp::endpoint& at) {
      error_code err;
      if (acceptor->is_open()) acceptor->close(err);
      acceptor->open(at.protocol(), err);
      // Every address means IPv4 too, through the one IPv6 socket.
      if (!err && where.host.empty()) acceptor->set_option(asio::ip::v6_only(false), err);
      if (!err) acceptor->set_option(tcp::acceptor::reuse_address(true), err);
      if (!err) acceptor->bind(at, err);
      return err;
    };
    ec = open_and_bind(endpoint);
    // A kernel without IPv6: every address is every IPv4 address.
    if (ec && where.host.empty() && ec != asio::error::address_in_use) {
      ec = open_and_bind(tcp::endpoint(tcp::v4(), where.port));
    }
    if (!ec) acceptor->listen(kListenBacklog, ec);
    if (ec) fail(ec.message());
    bound_port = acceptor->local_endpoint().port();
  }

  void accept() {
    acceptor->async_accept([this](error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (ec) {
        // Out of file descriptors, mostly: accepting again at once would spin
        // the I/O thread on the same error.
        log::debug("http accept failed", {{"error", ec.message()}});
        accept_pause->expires_after(100ms);
        accept_pause->async_wait([this](error_code wait) {
          if (!wait) accept();
        });
        return;
      }
      if (open_connections.load(std::memory_order_relaxed) >= kMaxConnections) {
        error_code ignored;
        socket.close(ignored);
      } else {
        std::make_shared<Connection>(std::move(socket), *routes, *lanes, open_connections)->start();
      }
      accept();
    });
  }

  void shutdown() {
    if (!io) return;
    io->stop();
    if (io_thread.joinable()) io_thread.join();
    // Handlers running now finish; queued ones are dropped with their
    // connections, whose sockets must go before the io_context.
    lanes->quick.stop();
    lanes->slow.stop();
    lanes->quick.join();
    lanes->slow.join();
    lanes.reset();
    accept_pause.reset();
    acceptor.reset();
    io.reset();
    bound_port = 0;
  }
};

HttpServer::HttpServer(HttpOptions options, HttpHandlers handlers)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  if (impl_->options.web_config) {
    impl_->web = std::make_unique<LiveWebConfig>(std::move(*impl_->options.web_config));
    impl_->options.web_config.reset();
  }
  impl_->routes =
      std::make_unique<HttpRoutes>(impl_->options, std::move(handlers), impl_->web.get());
}

HttpServer::~HttpServer() {
  stop();
}

void HttpServer::start() {
  if (impl_->io) return;
  const std::string& address = impl_->options.listen_address;
  const std::string& path = impl_->options.telemetry_path;
  if (path.empty() || path.front() != '/') {
    throw std::invalid_argument("telemetry path \"" + path + "\" must start with '/'");
  }
  const ListenAddress where = parse_listen_address(address);
  impl_->io = std::make_unique<asio::io_context>(1);
  try {
    impl_->listen(address, where);
  } catch (...) {
    impl_->acceptor.reset();
    impl_->io.reset();
    throw;
  }
  impl_->accept_pause = std::make_unique<asio::steady_timer>(*impl_->io);
  impl_->lanes = std::make_unique<Lanes>();
  impl_->accept();
  impl_->io_thread = std::thread([io = impl_->io.get()] { io->run(); });
  if (impl_->web) impl_->web->start();
  log::info("listening",
            {{"address", address}, {"port", impl_->bound_port}, {"telemetry_path", path}});
}

void HttpServer::stop() {
  if (!impl_) return;
  if (impl_->web) impl_->web->stop();
  impl_->shutdown();
}

int HttpServer::port() const {
  return impl_->bound_port;
}

}  // namespace mg
