#pragma once

#include <roadrunner/middleware.hpp>
#include <roadrunner/request.hpp>
#include <roadrunner/response.hpp>
#include <roadrunner/router.hpp>
#include <roadrunner/telemetry.hpp>

#include <any>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace roadrunner {

/// The `routes` option, in the seed's forms:
/// - empty: the default handler (404 with a short help text);
/// - a single handler (`routes => Module`): every request goes to it;
/// - `routes::single(handler, state, middlewares)` (`{Module, State}` and the
///   map form): a single handler with per-handler state and middlewares;
/// - a `route_list` (`[{Path, Handler, State}...]`): the first match wins,
///   404 / 405 otherwise.
/// Plain-callable handlers run inline on the connection's reactor thread, so
/// they must not block or compute for long; an exception thrown from one
/// becomes a 500 and the connection stays usable.
class routes {
public:
  routes() = default;

  /// Single-handler dispatch.
  template <class F>
  requires std::is_invocable_r_v<response, F&, request&> routes(F f)
    : handler_(std::move(f)) { // NOLINT: implicit on purpose
  }

  /// Route-list dispatch.
  routes(route_list list) // NOLINT: implicit on purpose
    : list_(std::move(list)), is_list_(true) {}

  /// Single-handler dispatch with state (`request::state()`) and
  /// per-handler middlewares (inside the listener-wide ones).
  static routes single(handler h, std::any state,
                       std::vector<middleware> middlewares = {}) {
    routes r;
    r.handler_ = std::move(h);
    r.state_ = std::move(state);
    r.middlewares_ = std::move(middlewares);
    return r;
  }

  /// No routes given: the default handler.
  bool empty() const noexcept { return !is_list_ && !handler_; }

  /// True for the route-list form (the only one `reload_routes` accepts).
  bool is_list() const noexcept { return is_list_; }

  /// Single-handler form: the handler (empty for a route list).
  const handler& single_handler() const noexcept { return handler_; }

  /// Single-handler form: the state given to `single`.
  const std::any& single_state() const noexcept { return state_; }

  /// Single-handler form: the per-handler middlewares.
  const std::vector<middleware>& single_middlewares() const noexcept {
    return middlewares_;
  }

  /// Route-list form: the routes (empty otherwise).
  const route_list& list() const noexcept { return list_; }

private:
  handler handler_;
  std::any state_;
  std::vector<middleware> middlewares_;
  route_list list_;
  bool is_list_ = false;
};

/// Compiles `opts.routes` with the listener-wide `opts.middlewares` (the
/// default handler when no routes are given).
struct listener_options;
compile_result compile_routes(const listener_options& opts);

/// Milliseconds, the unit of every duration option (as in the seed).
using millis = std::chrono::milliseconds;

/// `body_buffering`: read the whole body before the handler runs, or let the
/// handler pull it.
enum class body_buffering { automatic, manual };

/// `{http1, Opts}` tunables (RFC 9112 limits). Each must be 1..2^31-1.
struct http1_options {
  /// Request line (method SP target SP version) bytes -> 414 when exceeded.
  int64_t max_request_line = 8192;
  /// One header field line -> 431.
  int64_t max_header_line = 8192;
  /// All header field lines together -> 431.
  int64_t max_header_block = 10240;
  /// Number of header fields -> 431.
  int64_t max_header_count = 100;
};

/// `{http2, Opts}` tunables (the seed's names, defaults and ranges). Each
/// must be 1..2^31-1. HTTP/2 is served over TLS when ALPN picks `h2`, and
/// as h2c with prior knowledge when `protocols` is exactly `[http2]` on
/// plain TCP.
struct http2_options {
  /// Connection receive-window peak in bytes. Above the RFC's 65535 the
  /// server sends WINDOW_UPDATE(0, conn_window - 65535) right after its
  /// SETTINGS. Worst-case buffered upload memory: max_clients x peak.
  int64_t conn_window = 65535;
  /// Stream receive-window peak in bytes, advertised as
  /// SETTINGS_INITIAL_WINDOW_SIZE.
  int64_t stream_window = 65535;
  /// When what a client may still send drops below this many bytes, a
  /// WINDOW_UPDATE refills the window to its peak.
  int64_t window_refill_threshold = 32768;
  /// SETTINGS_MAX_CONCURRENT_STREAMS; a stream over it gets
  /// RST_STREAM(REFUSED_STREAM).
  int64_t max_concurrent_streams = 100;
  /// SETTINGS_MAX_HEADER_LIST_SIZE: decoded request header bytes (name +
  /// value + 32 per field, RFC 9113 6.5.2) -> 431 + RST_STREAM(NO_ERROR).
  /// Default as the seed: 2 x its 16384-byte `max_header_block`.
  int64_t max_header_list_size = 32768;
  /// SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 (RFC 8441): clients may open
  /// WebSocket sessions with an extended CONNECT. Off: a request with
  /// `:protocol` is malformed (RST_STREAM(PROTOCOL_ERROR)).
  bool enable_connect_protocol = true;

  // -- flood limits (issue 18) ------------------------------------------------
  // A client earns frame credit with useful work and spends it on frames
  // that carry none; see docs/options.md "HTTP/2 flood limits".

  /// Frames without useful work a connection may send beyond what its work
  /// earned: PING, SETTINGS, WINDOW_UPDATE, RST_STREAM, PRIORITY, unknown
  /// types, DATA / CONTINUATION / trailer HEADERS under 128 payload bytes,
  /// refused streams, and each KiB of a header list over
  /// `max_header_list_size`. A request earns 8, a DATA frame received with
  /// 128+ bytes or a DATA frame sent earns 1 (credit never exceeds this
  /// value). Over it: GOAWAY(ENHANCE_YOUR_CALM) and the connection closes.
  int64_t max_overhead_frames = 10000;
  /// RST_STREAMs a client may send per `reset_window` streams it opens
  /// (CVE-2023-44487 "rapid reset"); one more: GOAWAY(ENHANCE_YOUR_CALM).
  /// Independent of `max_keep_alive_requests`.
  int64_t max_stream_resets = 200;
  /// Streams per window of the reset count (the count restarts after this
  /// many new streams).
  int64_t reset_window = 1000;
};

/// A protocol this listener speaks.
enum class protocol { http1, http2 };

/// One entry of `protocols`: a protocol and its tunables.
struct protocol_entry {
  /// The protocol.
  protocol proto = protocol::http1;
  /// HTTP/1.1 limits (used when `proto` is http1).
  http1_options http1;
  /// HTTP/2 tunables (used when `proto` is http2).
  http2_options http2;

  protocol_entry() = default;
  /// `p` with default tunables.
  protocol_entry(protocol p) : proto(p) { // NOLINT: implicit on purpose
  }
};

/// HTTPS for a listener (the seed's `tls` list as typed fields). Hardened
/// defaults sit under these settings: TLS 1.2 and 1.3 only, ECDHE with
/// AES-GCM or CHACHA20-POLY1305 for TLS 1.2 (AEAD with forward secrecy),
/// the TLS 1.3 suites, server cipher preference, no renegotiation, no
/// compression, no 0-RTT, session resumption on. `validate` builds the
/// OpenSSL context once, so a missing file, bad PEM or a key that does not
/// match the certificate fails listener start with the field's name
/// (`tls.cert_file`, `tls.key_pem`, ...) and the reason. See `docs/options.md`.
struct tls_options {
  /// PEM file: the certificate, then its chain (leaf first).
  std::string cert_file;
  /// PEM file: the private key of the certificate (not encrypted).
  std::string key_file;
  /// The certificate chain as PEM text (instead of `cert_file`).
  std::string cert_pem;
  /// The private key as PEM text (instead of `key_file`).
  std::string key_pem;
  /// ALPN protocol ids in preference order, each `"h2"` or `"http/1.1"` and
  /// naming a protocol of `protocols`. Unset: derived from `protocols` in
  /// list order (`http2` -> `h2`, `http1` -> `http/1.1`).
  std::optional<std::vector<std::string>> alpn;
  /// Oldest protocol version accepted: `"tlsv1.2"` or `"tlsv1.3"`.
  std::string min_version = "tlsv1.2";
  /// TLS 1.2 cipher list in OpenSSL syntax; empty: the hardened default.
  /// A non-empty value replaces the default (the user's setting wins).
  std::string ciphers;
  /// TLS 1.3 cipher suites in OpenSSL syntax; empty: OpenSSL's three.
  std::string ciphersuites;
  /// Deadline for the handshake, from the accept (>= 1 ms); over it the
  /// connection closes.
  millis handshake_timeout{10000};
  /// Stateless resumption with session tickets; false: resumption from the
  /// listener's session cache only.
  bool session_tickets = true;
  /// Kernel TLS for sending (Linux `tls` module, OpenSSL's
  /// `SSL_OP_ENABLE_KTLS`): after the handshake the kernel encrypts what
  /// the connection sends, and HTTP/1.1 file bodies go out with
  /// `SSL_sendfile` (no copy through user space). Where the kernel or the
  /// negotiated cipher does not allow it, the connection silently stays on
  /// OpenSSL's user-space path (pread-and-write for files). Off by default
  /// (see `docs/web-features.md`).
  bool ktls = false;

  tls_options() = default;

  /// Certificate chain and key from PEM files.
  tls_options(std::string cert_file_path, std::string key_file_path)
    : cert_file(std::move(cert_file_path)), key_file(std::move(key_file_path)) {
  }
};

/// Every option of the Erlang seed's `opts()`, with the seed's default.
/// Durations are milliseconds. `start_listener` validates all of them and
/// fails with `invalid_listener_opt` / `listener_opt_conflict`, naming the
/// option and the value. Options whose feature has not landed yet accept only
/// their default and reject anything else with a clear reason.
struct listener_options {
  /// TCP port, required: 0..65535 (0 = the kernel picks; ask `port`).
  int port = -1;
  /// Address to bind ("0.0.0.0", "127.0.0.1", "::1", "::"). Not in the seed,
  /// which binds every IPv4 interface; this default keeps that behaviour.
  std::string bind_address = "0.0.0.0";
  /// Dispatch (see `roadrunner::routes`).
  roadrunner::routes routes;
  /// Listener-wide middlewares: around every route's pipeline and around
  /// the 404 / 405 answers; the first in the list is the outermost.
  std::vector<middleware> middlewares;
  /// Request body cap in bytes (10 MiB): over it -> 413.
  int64_t max_content_length = 10485760;
  /// Deadline for a request's head and body, from its first byte -> 408.
  millis request_timeout{30000};
  /// Idle time allowed between requests on a keep-alive connection -> close.
  millis keep_alive_timeout{60000};
  /// Acceptor actors pulling from the listen socket, >= 1.
  int64_t num_acceptors = 10;
  /// Requests served per connection before it closes, >= 1.
  int64_t max_keep_alive_requests = 1000;
  /// Concurrent connections, >= 1; over it a new socket is closed at once.
  int64_t max_clients = 150;
  /// Slow-client guard while a request is read (0 disables).
  int64_t min_bytes_per_second = 100;
  /// How often the slow-client guard checks, >= 1 ms.
  millis rate_check_interval{1000};
  /// `auto` (default: the whole body is read before the handler runs) or
  /// `manual` (the handler runs on the head and pulls the body in pieces
  /// with `responder::read_body`; see responder.hpp).
  roadrunner::body_buffering body_buffering = body_buffering::automatic;
  /// Slot reconciliation interval (`disabled` when empty): every interval
  /// the listener compares `active_clients` with the connection actors
  /// alive and releases differences that persist for two ticks. Needs
  /// `graceful_drain` (a `listener_opt_conflict` otherwise).
  std::optional<millis> slot_reconciliation;
  /// Tell connections about a drain (idle ones close at once, requests in
  /// flight finish with `connection: close`). False: a drain only closes the
  /// socket and waits for connections to end by themselves until the
  /// deadline.
  bool graceful_drain = true;
  /// An idle keep-alive connection frees its buffers after this long (>= 1
  /// ms); unset: buffers are only trimmed to 4 KiB when a request ends.
  std::optional<millis> hibernate_after;
  /// Protocols in preference order; default `[http1]`.
  std::vector<protocol_entry> protocols{protocol::http1};
  /// HTTPS: unset serves plain TCP (see `tls_options`).
  std::optional<tls_options> tls;
  /// Listener-wide cap on requests in flight (empty = infinity): over it a
  /// request gets 503 with `retry-after: 1` and counts as `throttled`.
  /// Changeable at run time (`max_requests_atom`).
  std::optional<int64_t> max_concurrent_requests;
  /// Listen backlog (Linux clamps it to net.core.somaxconn), >= 1.
  int64_t socket_backlog = 1024;
  /// An already bound, listening TCP socket to accept on instead of binding
  /// `bind_address`:`port` (systemd socket activation: `LISTEN_FDS`); -1
  /// binds as usual. It is made non-blocking and close-on-exec. An option
  /// error (`validate`) leaves it with the caller; past that the listener
  /// owns it and closes it on a later start error or at stop.
  /// `socket_backlog` does not apply to it.
  int listen_fd = -1;
  /// Telemetry subscriber (empty: none, at the cost of one branch per
  /// event) and the events it wants (a plain handler wants every one). See
  /// `telemetry.hpp`; `telemetry_to(actor)` forwards to an actor.
  telemetry_sink telemetry;

  // -- request body memory (issue 18) -----------------------------------------

  /// Request body bytes the listener may hold in memory at once, over all
  /// its connections (>= 0; 0 spools every body). A body that does not fit
  /// goes to a temporary file in `body_spool_dir` (the handler sees it the
  /// same way: a view of the file mapped read-only); with no spool
  /// directory its request gets 503. Bodies are allocated towards the size
  /// they announce, never doubled past it. HTTP/1.1 and HTTP/2 (HTTP/1.1
  /// requests of up to 64 KiB stay in the connection's input buffer).
  int64_t body_memory_budget = 268435456;
  /// Directory for spooled request bodies, opened with O_TMPFILE (the file
  /// has no name and disappears with the request); empty: no spooling
  /// (503 over the budget). `validate` checks that a file can be made there.
  std::string body_spool_dir = "/tmp";

  // -- beyond one process (issue 17; docs/scaling.md) -------------------------

  /// Every connection starts with a PROXY protocol header, version 1 or 2
  /// (HAProxy's specification), read before the TLS handshake and the
  /// first request: the request's `peer()` becomes the proxied client and
  /// `request::proxy()` shows the header (v2 TLVs: ALPN, authority, unique
  /// id). A missing, malformed or oversized header closes the connection
  /// and counts in `proxy_rejected`; a v2 LOCAL header keeps the socket's
  /// own peer. Only for listeners that nothing but the proxy can reach.
  bool proxy_protocol = false;
  /// How long the PROXY header may take from the accept, >= 1 ms; then the
  /// connection closes (counted in `proxy_rejected`).
  millis proxy_protocol_timeout{5000};
  /// Bind with SO_REUSEPORT, so that several processes serve one port (the
  /// kernel spreads connections over their sockets by hash). On a drain
  /// the listener first steers new connections to the other sockets of
  /// the group and accepts what is queued before it closes (docs/scaling.md).
  /// Conflicts with `listen_fd`.
  bool reuse_port = false;
};

/// Which kind of start-up error an option produced.
enum class option_error_kind {
  /// The seed's `{invalid_listener_opt, Key, Value}`.
  invalid_listener_opt,
  /// The seed's `{listener_opt_conflict, Key, Value, Reason}`.
  listener_opt_conflict,
};

/// A rejected option: which one, its value as text and why.
struct option_error {
  /// Which kind of error (the error code reported).
  option_error_kind kind = option_error_kind::invalid_listener_opt;
  /// The option's name, e.g. "max_clients".
  std::string option;
  /// The rejected value as text.
  std::string value;
  /// Why it was rejected.
  std::string reason;
};

/// Checks every option but the routes; returns the first problem found, in
/// declaration order. (`compile_routes` checks routes and middlewares.)
std::optional<option_error> validate(const listener_options& opts);

} // namespace roadrunner
