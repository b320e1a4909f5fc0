#include "export/http_server.h"

// GCC rejects (-Wtsan) the fences Asio puts around each handler call in a
// TSan build: TSan cannot model them. Handlers pass between threads through
// the scheduler's mutex-guarded queue, which TSan does see, so without the
// fences it still checks every hand-over. Only this file includes Asio.
#if defined(__SANITIZE_THREAD__)
#define BOOST_ASIO_DISABLE_FENCED_BLOCK
#endif

#include <openssl/ssl.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/detect_ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>

#include "export/http_routes.h"
#include "export/listen_address.h"
#include "export/socket_activation.h"
#include "export/tls_context.h"
#include "export/web_metrics.h"
#include "util/log.h"

namespace mg {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using namespace std::chrono_literals;

// Connections are cheap here (a socket and a buffer that starts at 512
// bytes), so held-open ones (idle, or slowloris: a header byte a second) no
// longer starve scrapes as civetweb's thread-per-connection did. What bounds
// them is time and number:
//  - the request head (line and headers) must be complete 3s after accept,
//    the TLS handshake before it included. tcp_stream's expiry is a point in
//    time set once, so dripping bytes does not extend it. Prometheus sends
//    its hello and its request at once: 3s is generous.
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

// Go's answer, word for word, to a plain HTTP request on a TLS port. It
// carries no metrics, and costs no handshake.
constexpr std::string_view kPlainHttpOnTls =
    "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n";

// An OpenSSL context for Asio's streams, built once per TlsContext: each
// connection holds the one it was accepted with, so a rotation never changes
// a handshake under way, and the TlsContext its verify callback reads stays
// alive with it.
struct ServingTls {
  explicit ServingTls(std::shared_ptr<const TlsContext> t)
      : tls(std::move(t)), asio(up_ref(tls->native())) {}
  std::shared_ptr<const TlsContext> tls;
  ssl::context asio;  // owns one reference of tls's SSL_CTX

 private:
  static SSL_CTX* up_ref(SSL_CTX* ctx) {
    SSL_CTX_up_ref(ctx);
    return ctx;
  }
};

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// One client connection, from accept to close. Only the I/O thread touches
// it: a handler lane gets a copy of the parsed request and posts the answer
// back. Stream is beast::tcp_stream, or TlsStream over one.
template <class Stream>
class Connection : public std::enable_shared_from_this<Connection<Stream>> {
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

 public:
  Connection(tcp::socket socket, std::shared_ptr<ServingTls> tls, const HttpRoutes& routes,
             Lanes& lanes, std::atomic<std::size_t>& open, WebMetrics& metrics)
      : tls_(std::move(tls)),
        stream_(make_stream(std::move(socket), tls_.get())),
        buffer_(kMaxRequestHead),
        routes_(routes),
        lanes_(lanes),
        open_(open),
        metrics_(metrics) {
    open_.fetch_add(1, std::memory_order_relaxed);
  }
  ~Connection() { open_.fetch_sub(1, std::memory_order_relaxed); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void start() {
    parser_.header_limit(kMaxRequestHead);
    tcp_layer().expires_after(kHeadDeadline);
    if constexpr (kTls) {
      // The first bytes tell a TLS hello from a plain request.
      beast::async_detect_ssl(stream_.next_layer(), buffer_,
                              [self = this->shared_from_this()](error_code ec, bool is_tls) {
                                self->on_detected(ec, is_tls);
                              });
    } else {
      read_head();
    }
  }

 private:
  static Stream make_stream(tcp::socket socket, ServingTls* tls) {
    if constexpr (kTls) {
      return Stream(beast::tcp_stream(std::move(socket)), tls->asio);
    } else {
      (void)tls;
      return Stream(std::move(socket));
    }
  }

  beast::tcp_stream& tcp_layer() { return beast::get_lowest_layer(stream_); }

  void read_head() {
    http::async_read_header(
        stream_, buffer_, parser_,
        [self = this->shared_from_this()](error_code ec, std::size_t) { self->on_head(ec); });
  }

  void on_detected(error_code ec, bool is_tls) {
    if (ec) {
      if (ec != asio::error::operation_aborted) failed(ec);
      return;
    }
    if (!is_tls) {
      metrics_.handshake_failed(TlsFailure::kPlainHttp);
      tcp_layer().expires_after(kWriteDeadline);
      asio::async_write(tcp_layer(), asio::buffer(kPlainHttpOnTls.data(), kPlainHttpOnTls.size()),
                        [self = this->shared_from_this()](error_code werr, std::size_t) {
                          if (!werr) self->linger_tcp();
                        });
      return;
    }
    if constexpr (kTls) {
      stream_.async_handshake(ssl::stream_base::server, buffer_.data(),
                              [self = this->shared_from_this()](error_code herr, std::size_t used) {
                                self->on_handshake(herr, used);
                              });
    }
  }

  void on_handshake(error_code ec, std::size_t used) {
    if (ec) {
      if (ec != asio::error::operation_aborted) failed(ec);
      return;
    }
    buffer_.consume(used);
    read_head();
  }

  // Counts and logs a TLS handshake that did not complete; the connection
  // then closes with this object.
  void failed(error_code ec) {
    TlsFailure reason = TlsFailure::kOther;
    if (ec == beast::error::timeout) {
      reason = TlsFailure::kTimeout;
    } else if (ec == asio::error::eof || ec == asio::error::connection_reset ||
               ec == ssl::error::stream_truncated) {
      reason = TlsFailure::kEof;
    } else if (ec.category() == asio::error::get_ssl_category()) {
      if constexpr (kTls) {
        reason =
            TlsContext::classify(static_cast<unsigned long>(ec.value()), stream_.native_handle());
      }
    }
    metrics_.handshake_failed(reason);
    if (log::enabled(log::Level::kDebug)) {
      // A timed-out socket is closed already and has no peer to ask for.
      error_code no_peer;
      const auto peer = tcp_layer().socket().remote_endpoint(no_peer);
      log::debug("tls handshake failed",
                 {{"reason", to_string(reason)},
                  {"err", ec.message()},
                  {"peer", no_peer ? std::string("?") : peer.address().to_string()}});
    }
  }

  void on_head(error_code ec) {
    if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
        ec == beast::error::timeout || ec == asio::error::connection_reset ||
        ec == asio::error::operation_aborted || ec == ssl::error::stream_truncated) {
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
    asio::post(lanes_.quick, [self = this->shared_from_this(), request = std::move(request),
                              head_only]() mutable {
      if (auto response = self->routes_.answer(request, Bcrypt::kNotHere)) {
        self->send_back(std::move(*response), head_only);
      } else {
        request.rate_checked = true;
        self->answer_slowly(std::move(request), head_only);
      }
    });
  }

  // On the slow lane; called from the I/O thread or the quick lane, it only
  // posts, and touches nothing of the connection but the immutable parts.
  void answer_slowly(HttpRequest request, bool head_only) {
    asio::post(lanes_.slow, [self = this->shared_from_this(), request = std::move(request),
                             head_only]() mutable {
      self->send_back(*self->routes_.answer(request, Bcrypt::kAllowed), head_only);
    });
  }

  // From a lane back to the I/O thread.
  void send_back(HttpResponse response, bool head_only) {
    asio::post(stream_.get_executor(), [self = this->shared_from_this(), head_only,
                                        response = std::move(response)]() mutable {
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
    tcp_layer().expires_after(kWriteDeadline);
    http::async_write(stream_, response_,
                      [self = this->shared_from_this()](error_code ec, std::size_t) {
                        if (!ec) self->linger();
                      });
  }

  void linger() {
    if constexpr (kTls) {
      // close_notify, then the client's own, within the linger deadline: the
      // TLS shutdown reads what the client still sends, as drain() does.
      tcp_layer().expires_after(kLingerDeadline);
      stream_.async_shutdown([self = this->shared_from_this()](error_code) {});
    } else {
      linger_tcp();
    }
  }

  void linger_tcp() {
    error_code ignored;
    tcp_layer().socket().shutdown(tcp::socket::shutdown_send, ignored);
    buffer_.clear();
    tcp_layer().expires_after(kLingerDeadline);
    drain();
  }

  void drain() {
    tcp_layer().async_read_some(buffer_.prepare(512),
                                [self = this->shared_from_this()](error_code ec, std::size_t) {
                                  if (!ec) self->drain();
                                });
  }

  std::shared_ptr<ServingTls> tls_;  // null on a plain connection
  Stream stream_;
  beast::flat_buffer buffer_;
  http::request_parser<http::empty_body> parser_;
  http::response<http::string_body> response_;
  const HttpRoutes& routes_;
  Lanes& lanes_;
  std::atomic<std::size_t>& open_;
  WebMetrics& metrics_;
};

}  // namespace

struct HttpServer::Impl {
  HttpOptions options;
  std::shared_ptr<LiveWebConfig> web;  // null without --web.config.file
  std::unique_ptr<HttpRoutes> routes;
  std::shared_ptr<WebMetrics> metrics;
  // Whether every listener speaks TLS: fixed at start, as a reload cannot
  // turn TLS on or off.
  bool tls = false;

  struct Listener {
    std::string address;  // as given, or "fd N" of socket activation
    std::unique_ptr<tcp::acceptor> acceptor;
    std::unique_ptr<asio::steady_timer> accept_pause;
    int port = 0;
  };

  // Set by start(), cleared by stop(); the order of destruction matters (the
  // pool's queued work holds connections, whose sockets belong to io).
  std::unique_ptr<asio::io_context> io;
  std::vector<Listener> listeners;
  std::unique_ptr<Lanes> lanes;
  std::thread io_thread;
  std::atomic<std::size_t> open_connections{0};
  // The TLS context new connections get; the I/O thread only.
  std::shared_ptr<ServingTls> serving;

  Listener listen(const std::string& address, const ListenAddress& where) {
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
    Listener l{address, std::make_unique<tcp::acceptor>(*io), nullptr, 0};
    auto open_and_bind = [&](const tcp::endpoint& at) {
      error_code err;
      if (l.acceptor->is_open()) l.acceptor->close(err);
      l.acceptor->open(at.protocol(), err);
      // Every address means IPv4 too, through the one IPv6 socket.
      if (!err && where.host.empty()) l.acceptor->set_option(asio::ip::v6_only(false), err);
      if (!err) l.acceptor->set_option(tcp::acceptor::reuse_address(true), err);
      if (!err) l.acceptor->bind(at, err);
      return err;
    };
    ec = open_and_bind(endpoint);
    // A kernel without IPv6: every address is every IPv4 address.
    if (ec && where.host.empty() && ec != asio::error::address_in_use) {
      ec = open_and_bind(tcp::endpoint(tcp::v4(), where.port));
    }
    if (!ec) l.acceptor->listen(kListenBacklog, ec);
    if (ec) fail(ec.message());
    l.port = l.acceptor->local_endpoint().port();
    return l;
  }

  // A socket systemd bound and listens on.
  Listener adopt(int fd) {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    Listener l{"fd " + std::to_string(fd), std::make_unique<tcp::acceptor>(*io), nullptr, 0};
    error_code ec;
    l.acceptor->assign(addr.ss_family == AF_INET6 ? tcp::v6() : tcp::v4(), fd, ec);
    if (ec)
      throw std::runtime_error("--web.systemd-socket: fd " + std::to_string(fd) + ": " +
                               ec.message());
    l.port = l.acceptor->local_endpoint(ec).port();
    return l;
  }

  void accept(Listener& l) {
    l.acceptor->async_accept([this, &l](error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;
      if (ec) {
        // Out of file descriptors, mostly: accepting again at once would spin
        // the I/O thread on the same error.
        log::debug("http accept failed", {{"error", ec.message()}});
        l.accept_pause->expires_after(100ms);
        l.accept_pause->async_wait([this, &l](error_code wait) {
          if (!wait) accept(l);
        });
        return;
      }
      if (open_connections.load(std::memory_order_relaxed) >= kMaxConnections) {
        error_code ignored;
        socket.close(ignored);
      } else if (tls) {
        // The certificate in force now: a rotation reaches the next handshake.
        std::shared_ptr<const TlsContext> now = web->current()->tls();
        if (!serving || serving->tls != now) serving = std::make_shared<ServingTls>(std::move(now));
        std::make_shared<Connection<TlsStream>>(std::move(socket), serving, *routes, *lanes,
                                                open_connections, *metrics)
            ->start();
      } else {
        std::make_shared<Connection<beast::tcp_stream>>(std::move(socket), nullptr, *routes, *lanes,
                                                        open_connections, *metrics)
            ->start();
      }
      accept(l);
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
    listeners.clear();
    serving.reset();
    io.reset();
  }
};

HttpServer::HttpServer(HttpOptions options, HttpHandlers handlers)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  if (impl_->options.web_config) {
    impl_->web = std::make_shared<LiveWebConfig>(std::move(*impl_->options.web_config));
    impl_->options.web_config.reset();
    impl_->tls = impl_->web->current()->tls() != nullptr;
  }
  impl_->routes =
      std::make_unique<HttpRoutes>(impl_->options, std::move(handlers), impl_->web.get());
  impl_->metrics = std::make_shared<WebMetrics>(impl_->web);
}

HttpServer::~HttpServer() {
  stop();
}

void HttpServer::start() {
  if (impl_->io) return;
  const std::string& path = impl_->options.telemetry_path;
  if (path.empty() || path.front() != '/') {
    throw std::invalid_argument("telemetry path \"" + path + "\" must start with '/'");
  }
  std::vector<std::pair<std::string, ListenAddress>> addresses;
  if (!impl_->options.systemd_socket) {
    if (impl_->options.listen_addresses.empty()) {
      throw std::invalid_argument("--web.listen-address: no address to listen on");
    }
    for (const auto& address : impl_->options.listen_addresses) {
      addresses.emplace_back(address, parse_listen_address(address));
    }
  }
  impl_->io = std::make_unique<asio::io_context>(1);
  try {
    if (impl_->options.systemd_socket) {
      for (int fd : take_systemd_sockets()) impl_->listeners.push_back(impl_->adopt(fd));
    }
    for (const auto& [address, where] : addresses) {
      impl_->listeners.push_back(impl_->listen(address, where));
    }
  } catch (...) {
    impl_->listeners.clear();
    impl_->io.reset();
    throw;
  }
  impl_->lanes = std::make_unique<Lanes>();
  for (auto& l : impl_->listeners) {
    l.accept_pause = std::make_unique<asio::steady_timer>(*impl_->io);
    impl_->accept(l);
  }
  impl_->io_thread = std::thread([io = impl_->io.get()] { io->run(); });
  if (impl_->web) {
    impl_->web->start();
    LiveWebConfig::log_loaded(*impl_->web->current(), "web config loaded");
  }
  for (const auto& l : impl_->listeners) {
    log::info(
        "listening",
        {{"address", l.address}, {"port", l.port}, {"telemetry_path", path}, {"tls", impl_->tls}});
  }
}

void HttpServer::stop() {
  if (!impl_) return;
  if (impl_->web) impl_->web->stop();
  impl_->shutdown();
}

int HttpServer::port() const {
  return impl_->listeners.empty() ? 0 : impl_->listeners.front().port;
}

std::vector<int> HttpServer::ports() const {
  std::vector<int> out;
  for (const auto& l : impl_->listeners) out.push_back(l.port);
  return out;
}

std::shared_ptr<const prometheus::Collectable> HttpServer::self_metrics() const {
  return impl_->metrics;
}

}  // namespace mg
