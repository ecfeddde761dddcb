#include <roadrunner/detail/request_access.hpp>
#include <roadrunner/request.hpp>

namespace roadrunner {

namespace {

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

// Decodes the byte at `raw[i]` of a query component and advances `i` past
// it: "%XX" -> one byte, '+' -> SP (WHATWG URL 5.1, urlencoded parsing), a
// '%' without two hex digits stays a literal '%'.
char decode_at(std::string_view raw, size_t& i) noexcept {
  char c = raw[i++];
  if (c == '+')
    return ' ';
  if (c == '%' && i + 1 < raw.size()) {
    int hi = hex_value(raw[i]);
    int lo = hex_value(raw[i + 1]);
    if (hi >= 0 && lo >= 0) {
      i += 2;
      return static_cast<char>(hi * 16 + lo);
    }
  }
  return c;
}

std::string decode(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size();)
    out.push_back(decode_at(raw, i));
  return out;
}

// Compares the decoded form of `raw` with `plain` without allocating.
bool decoded_equals(std::string_view raw, std::string_view plain) noexcept {
  size_t i = 0;
  size_t j = 0;
  while (i < raw.size()) {
    if (j == plain.size() || decode_at(raw, i) != plain[j])
      return false;
    ++j;
  }
  return j == plain.size();
}

// Calls `f(name, value)` with the raw pieces of each non-empty query pair.
template <class F>
void for_each_pair(std::string_view query, F&& f) {
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{}
                                          : query.substr(amp + 1);
    if (pair.empty())
      continue;
    auto eq = pair.find('=');
    if (eq == std::string_view::npos)
      f(pair, std::string_view{});
    else
      f(pair.substr(0, eq), pair.substr(eq + 1));
  }
}

bool is_ws(char c) noexcept {
  return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_ws(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_ws(s.back()))
    s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i) {
    auto x = a[i] >= 'A' && a[i] <= 'Z' ? a[i] + 32 : a[i];
    auto y = b[i] >= 'A' && b[i] <= 'Z' ? b[i] + 32 : b[i];
    if (x != y)
      return false;
  }
  return true;
}

// Calls `f(name, value)` for each cookie-pair of every Cookie field until it
// returns true (RFC 6265 4.2.1: pairs separated by "; "; we also accept a
// missing or doubled SP and HTAB, as user agents differ). Returns whether
// `f` stopped the walk.
template <class F>
bool for_each_cookie(std::span<const header_field> fields, F&& f) {
  for (const auto& field : fields) {
    if (!iequals(field.name, "cookie"))
      continue;
    auto rest = field.value;
    while (!rest.empty()) {
      auto semi = rest.find(';');
      auto pair = rest.substr(0, semi);
      rest = semi == std::string_view::npos ? std::string_view{}
                                            : rest.substr(semi + 1);
      auto eq = pair.find('=');
      if (eq == std::string_view::npos)
        continue;
      auto name = trim(pair.substr(0, eq));
      auto value = trim(pair.substr(eq + 1));
      // cookie-value = *cookie-octet / ( DQUOTE *cookie-octet DQUOTE )
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
        value = value.substr(1, value.size() - 2);
      if (f(name, value))
        return true;
    }
  }
  return false;
}

} // namespace

std::vector<std::pair<std::string, std::string>> request::parse_query() const {
  std::vector<std::pair<std::string, std::string>> out;
  for_each_pair(query(), [&out](std::string_view name, std::string_view value) {
    out.emplace_back(decode(name), decode(value));
  });
  return out;
}

std::optional<std::string> request::query_param(std::string_view name) const {
  std::optional<std::string> out;
  for_each_pair(query(), [&](std::string_view raw_name, std::string_view raw) {
    if (!out && decoded_equals(raw_name, name))
      out = decode(raw);
  });
  return out;
}

std::optional<std::string_view>
request::cookie(std::string_view name) const noexcept {
  std::optional<std::string_view> out;
  for_each_cookie(headers(), [&](std::string_view n, std::string_view v) {
    if (n != name)
      return false;
    out = v;
    return true;
  });
  return out;
}

std::vector<std::pair<std::string_view, std::string_view>>
request::cookies() const {
  std::vector<std::pair<std::string_view, std::string_view>> out;
  for_each_cookie(headers(), [&out](std::string_view n, std::string_view v) {
    out.emplace_back(n, v);
    return false;
  });
  return out;
}

const char* to_string(param_error x) noexcept {
  switch (x) {
  case param_error::missing:
    return "missing";
  case param_error::bad_encoding:
    return "bad_encoding";
  case param_error::not_a_number:
    return "not_a_number";
  case param_error::out_of_range:
    return "out_of_range";
  }
  return "unknown";
}

std::optional<std::string> percent_decode(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '%') {
      out += raw[i];
      continue;
    }
    if (i + 2 >= raw.size())
      return std::nullopt;
    int hi = hex_value(raw[i + 1]);
    int lo = hex_value(raw[i + 2]);
    if (hi < 0 || lo < 0)
      return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

} // namespace roadrunner

// -- deferral and copies
// -----------------------------------------------------------

#include <roadrunner/owned_request.hpp>
#include <roadrunner/responder.hpp>

namespace roadrunner {

responder request::defer() const {
  if (conn_->deferral == nullptr)
    return responder{};
  return conn_->deferral->defer();
}

std::shared_ptr<const owned_request>
owned_request::make(const request& r, std::shared_ptr<const void> keep_alive) {
  return std::make_shared<const owned_request>(token{}, r,
                                               std::move(keep_alive));
}

owned_request::owned_request(token, const request& r,
                             std::shared_ptr<const void> keep)
  : body_(r.body()), listener_name_(r.listener_name()), keep_(std::move(keep)),
    req_(head_, body_, info_) {
  // One allocation for every small string; reserved up front so that the
  // views taken below never move.
  size_t total =
    r.method().size() + r.target().size() + r.path().size() + r.query().size();
  if (auto h = r.header("host"))
    total += h->size();
  for (auto& f : r.headers())
    total += f.name.size() + f.value.size();
  for (auto& b : r.bindings())
    total += b.name.size() + b.value.size();
  total += r.request_id().size();
  bytes_.reserve(total);
  auto keep_view = [this](std::string_view x) {
    auto at = bytes_.size();
    bytes_.append(x);
    return std::string_view{bytes_.data() + at, x.size()};
  };
  head_.method = keep_view(r.method());
  head_.target = keep_view(r.target());
  head_.path = keep_view(r.path());
  head_.query = keep_view(r.query());
  head_.version_minor = r.version() == "HTTP/1.0" ? 0 : 1;
  if (r.version() == "HTTP/2") {
    head_.version_major = 2;
    head_.version_minor = 0;
  }
  head_.host = keep_view(r.header("host").value_or(std::string_view{}));
  head_.headers.reserve(r.headers().size());
  for (auto& f : r.headers())
    head_.headers.push_back({keep_view(f.name), keep_view(f.value)});
  if (auto cl = r.content_length()) {
    head_.framing = body_framing::content_length;
    head_.content_length = *cl;
  }
  path_bindings bindings;
  for (auto& b : r.bindings())
    bindings.push(keep_view(b.name), keep_view(b.value));
  detail::request_access::bindings(req_, bindings);
  detail::request_access::request_id(req_, r.request_id());
  info_.peer = r.peer();
  info_.proxy = r.proxy();
  info_.scheme = r.scheme() == "https" ? "https" : "http";
  info_.listener_name = listener_name_;
  info_.stats = keep_ != nullptr ? detail::request_access::stats(r) : nullptr;
  state_ = r.state();
  if (state_.has_value())
    detail::request_access::state(req_, &state_);
}

} // namespace roadrunner
