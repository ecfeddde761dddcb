#include "accept_encoding.hpp"
#include "date_cache.hpp"
#include "http_date.hpp"
#include "mime.hpp"
#include "web_fields.hpp"
#include <roadrunner/file_body.hpp>
#include <roadrunner/static_files.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <linux/openat2.h>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace roadrunner {

namespace {

// -- opening under the root ---------------------------------------------------

// An owned descriptor.
struct fd_guard {
  int fd = -1;
  explicit fd_guard(int x = -1) noexcept : fd(x) {}
  fd_guard(fd_guard&& o) noexcept : fd(std::exchange(o.fd, -1)) {}
  fd_guard& operator=(fd_guard&& o) noexcept {
    std::swap(fd, o.fd);
    return *this;
  }
  ~fd_guard() {
    if (fd >= 0)
      ::close(fd);
  }
  int release() noexcept { return std::exchange(fd, -1); }
};

std::atomic<bool> no_openat2{false};

// O_NONBLOCK: opening a FIFO someone left under the root must not block
// the reactor (reads of regular files ignore the flag).
constexpr int open_flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;

// Without openat2 (Linux < 5.6, or a seccomp filter refusing it): one
// openat per component with O_NOFOLLOW, so no symlink is ever followed
// (stricter than RESOLVE_BENEATH) and ".." never reaches here.
int open_by_components(int root, const std::string& rel) {
  fd_guard dir{::dup(root)};
  if (dir.fd < 0)
    return -errno;
  std::string_view rest = rel;
  for (;;) {
    auto slash = rest.find('/');
    std::string part{rest.substr(0, slash)};
    if (slash == std::string_view::npos) {
      int fd = ::openat(dir.fd, part.c_str(), open_flags | O_NOFOLLOW);
      return fd >= 0 ? fd : -errno;
    }
    fd_guard next{::openat(dir.fd, part.c_str(),
                           O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)};
    if (next.fd < 0)
      return -errno;
    dir = std::move(next);
    rest.remove_prefix(slash + 1);
  }
}

// Opens `rel` (no "..", no leading '/') under the directory `root`: a
// descriptor, or -errno (EXDEV or ELOOP when resolution left the root or
// met a refused symlink).
int open_beneath(int root, const std::string& rel, symlink_policy links) {
  if (!no_openat2.load(std::memory_order_relaxed)) {
    open_how how{};
    how.flags = open_flags;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    if (links == symlink_policy::refuse)
      how.resolve |= RESOLVE_NO_SYMLINKS;
    auto fd = ::syscall(SYS_openat2, root, rel.c_str(), &how, sizeof(how));
    if (fd >= 0)
      return static_cast<int>(fd);
    if (errno != ENOSYS && errno != EPERM)
      return -errno;
    no_openat2.store(true, std::memory_order_relaxed);
  }
  return open_by_components(root, rel);
}

int status_of_errno(int err) noexcept {
  switch (err) {
  case ENOENT:
  case ENOTDIR:
  case EXDEV: // resolution would leave the root
  case ELOOP: // a refused symlink
  case ENXIO: // a socket or a FIFO without a writer
  case ENAMETOOLONG:
    return 404;
  case EACCES:
  case EPERM:
    return 403;
  default:
    return 500;
  }
}

// -- validators ---------------------------------------------------------------

// Calls f(tag, weak) for each entity-tag of an If-Match / If-None-Match
// list (RFC 9110 8.8.3: `W/"x"` or `"x"`; `tag` keeps its quotes); returns
// true when the list is "*". A malformed element ends the walk.
template <class F>
bool for_each_etag(std::string_view list, F&& f) {
  size_t i = 0;
  while (i < list.size()) {
    char c = list[i];
    if (c == ' ' || c == '\t' || c == ',') {
      ++i;
      continue;
    }
    if (c == '*')
      return true;
    bool weak = false;
    if (list.compare(i, 2, "W/") == 0) {
      weak = true;
      i += 2;
    }
    if (i >= list.size() || list[i] != '"')
      return false;
    auto end = list.find('"', i + 1);
    if (end == std::string_view::npos)
      return false;
    if (f(list.substr(i, end - i + 1), weak))
      return false;
    i = end + 1;
  }
  return false;
}

// Strong comparison (If-Match, If-Range): both strong and equal. Ours is
// always strong.
bool strong_match(std::string_view list, std::string_view etag) {
  bool hit = false;
  bool star = for_each_etag(list, [&](std::string_view tag, bool weak) {
    hit = !weak && tag == etag;
    return hit;
  });
  return star || hit;
}

// Weak comparison (If-None-Match): the opaque tags are equal.
bool weak_match(std::string_view list, std::string_view etag) {
  bool hit = false;
  bool star = for_each_etag(list, [&](std::string_view tag, bool) {
    hit = tag == etag;
    return hit;
  });
  return star || hit;
}

// -- ranges -------------------------------------------------------------------

struct byte_range {
  uint64_t first;
  uint64_t length;
};

enum class range_verdict : uint8_t {
  ignore,        // malformed or too many parts: answer 200
  unsatisfiable, // 416
  ranges,        // 206
};

bool parse_u64(std::string_view s, uint64_t& out) noexcept {
  if (s.empty())
    return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && end == s.data() + s.size();
}

// Range: bytes=first-last, first-, -suffix (RFC 9110 14.1.2), resolved
// against `size`. Unsatisfiable parts are dropped (14.1.1).
range_verdict parse_ranges(std::string_view field, uint64_t size,
                           size_t max_parts, std::vector<byte_range>& out) {
  auto eq = field.find('=');
  if (eq == std::string_view::npos ||
      !http1::iequals(field.substr(0, eq), "bytes"))
    return range_verdict::ignore; // another unit: not ours
  bool malformed = false;
  size_t parts = 0;
  detail::for_each_element(field.substr(eq + 1), [&](std::string_view spec) {
    if (malformed)
      return;
    ++parts;
    auto dash = spec.find('-');
    if (dash == std::string_view::npos) {
      malformed = true;
      return;
    }
    auto a = spec.substr(0, dash);
    auto b = spec.substr(dash + 1);
    uint64_t first = 0;
    uint64_t last = 0;
    if (a.empty()) {
      if (!parse_u64(b, last)) {
        malformed = true;
        return;
      }
      if (last > 0 && size > 0) { // suffix-length
        auto n = std::min(last, size);
        out.push_back({size - n, n});
      }
      return;
    }
    if (!parse_u64(a, first) || (!b.empty() && !parse_u64(b, last)) ||
        (!b.empty() && last < first)) {
      malformed = true;
      return;
    }
    if (first >= size)
      return; // unsatisfiable part
    last = b.empty() ? size - 1 : std::min(last, size - 1);
    out.push_back({first, last - first + 1});
  });
  if (malformed || parts == 0 || parts > max_parts)
    return range_verdict::ignore;
  return out.empty() ? range_verdict::unsatisfiable : range_verdict::ranges;
}

std::string content_range(const byte_range& r, uint64_t size) {
  return "bytes " + std::to_string(r.first) + "-" +
         std::to_string(r.first + r.length - 1) + "/" + std::to_string(size);
}

// Reads [first, first + n) with pread; false on a short read (the file
// shrank) or an error.
bool read_range(int fd, const byte_range& r, std::string& out) {
  auto at = out.size();
  out.resize(at + r.length);
  uint64_t done = 0;
  while (done < r.length) {
    auto n = ::pread(fd, out.data() + at + done, r.length - done,
                     static_cast<off_t>(r.first + done));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    done += static_cast<uint64_t>(n);
  }
  return true;
}

// -- the handler --------------------------------------------------------------

struct sibling {
  std::string_view coding;
  std::string_view suffix;
};

constexpr sibling siblings[] = {
  {"br", ".br"}, {"zstd", ".zst"}, {"gzip", ".gz"}};

struct static_state {
  static_options opts;
  fd_guard root;
  std::shared_ptr<const detail::mime_table> mime;

  // The decoded path under the root ("" for the root itself), or the
  // status refusing it.
  std::variant<std::string, int> normalise(std::string_view raw) const {
    auto decoded = percent_decode(raw);
    if (!decoded)
      return 400; // a '%' without two hex digits (RFC 3986 2.1)
    std::string out;
    std::string_view rest = *decoded;
    while (!rest.empty()) {
      auto slash = rest.find('/');
      auto seg = rest.substr(0, slash);
      rest.remove_prefix(slash == std::string_view::npos ? rest.size()
                                                         : slash + 1);
      if (seg.empty() || seg == ".")
        continue;
      if (seg == ".." || seg.find('\0') != std::string_view::npos ||
          seg.find('\\') != std::string_view::npos)
        return 400;
      if (seg.front() == '.' && !opts.dotfiles)
        return 404;
      if (!out.empty())
        out += '/';
      out += seg;
    }
    return out;
  }

  response fail(int status) const {
    switch (status) {
    case 400:
      return response::text(400, "Bad Request: path refused\n");
    case 403:
      return response::text(403, "Forbidden\n");
    case 404:
      return response::text(404, "Not Found\n");
    default:
      return response::text(500, "Internal Server Error\n");
    }
  }

  response serve(request& req) const;
};

std::string make_etag(const struct stat& st, std::string_view coding) {
  char buf[64];
  auto* p = buf;
  auto* end = buf + sizeof(buf);
  *p++ = '"';
  p = std::to_chars(p, end, static_cast<uint64_t>(st.st_size), 16).ptr;
  *p++ = '-';
  p = std::to_chars(p, end, static_cast<uint64_t>(st.st_mtim.tv_sec), 16).ptr;
  p = std::to_chars(p, end, static_cast<uint64_t>(st.st_mtim.tv_nsec), 16).ptr;
  std::string out{buf, p};
  if (!coding.empty())
    out.append("-").append(coding);
  out += '"';
  return out;
}

response static_state::serve(request& req) const {
  auto method = req.method();
  bool head = method == "HEAD";
  if (method != "GET" && !head) {
    // Mounted on a route taking any method: OPTIONS is answered here as
    // the router would (RFC 9110 9.3.7), and listed in the 405's `allow`.
    auto r = method == "OPTIONS" ? response::status_only(204)
                                 : response::text(405, "Method Not Allowed\n");
    r.header("allow", "GET, HEAD, OPTIONS");
    return r;
  }
  auto raw = req.binding(opts.binding).value_or(std::string_view{});
  auto norm = normalise(raw);
  if (auto* st = std::get_if<int>(&norm))
    return fail(*st);
  auto rel = std::move(std::get<std::string>(norm));
  auto name = rel;
  int fd = open_beneath(root.fd, rel.empty() ? "." : rel, opts.symlinks);
  if (fd < 0)
    return fail(status_of_errno(-fd));
  fd_guard file{fd};
  struct stat st {};
  if (::fstat(file.fd, &st) != 0)
    return fail(500);
  if (S_ISDIR(st.st_mode)) {
    if (opts.index.empty())
      return fail(404);
    auto path = req.path();
    if (path.empty() || path.back() != '/')
      return response::redirect(301, std::string{path} + "/");
    name = rel.empty() ? opts.index : rel + "/" + opts.index;
    fd = open_beneath(root.fd, name, opts.symlinks);
    if (fd < 0)
      return fail(status_of_errno(-fd));
    file = fd_guard{fd};
    if (::fstat(file.fd, &st) != 0)
      return fail(500);
  }
  // "file.txt/" names a directory that is not there (as open(2) says).
  if (!S_ISREG(st.st_mode) ||
      (!name.empty() && name == rel && raw.ends_with('/')))
    return fail(404);
  // A precompressed sibling the client accepts replaces the file (RFC
  // 9110 8.4: same content, another coding; its own validators).
  std::string_view coding;
  if (opts.precompressed) {
    std::string_view offered[3];
    size_t n = 0;
    for (const auto& s : siblings)
      offered[n++] = s.coding;
    auto accept = req.header("accept-encoding");
    while (accept && n > 0) {
      auto pick = detail::choose_coding(accept, {offered, n});
      if (pick.coding.empty())
        break;
      const auto* sib =
        std::find_if(std::begin(siblings), std::end(siblings),
                     [&](const sibling& s) { return s.coding == pick.coding; });
      int sfd =
        open_beneath(root.fd, name + std::string{sib->suffix}, opts.symlinks);
      struct stat sst {};
      if (sfd >= 0 && ::fstat(sfd, &sst) == 0 && S_ISREG(sst.st_mode)) {
        file = fd_guard{sfd};
        st = sst;
        coding = sib->coding;
        break;
      }
      if (sfd >= 0)
        ::close(sfd);
      // Not there: negotiate again without it.
      auto* gone = std::find(offered, offered + n, pick.coding);
      std::copy(gone + 1, offered + n, gone);
      --n;
    }
  }
  auto etag = make_etag(st, coding);
  char lm[29];
  format_http_date(st.st_mtim.tv_sec, lm);
  std::string_view last_modified{lm, sizeof(lm)};
  auto validators = [&](response& r) {
    r.header("etag", etag);
    r.header("last-modified", std::string{last_modified});
    if (!opts.cache_control.empty())
      r.header("cache-control", opts.cache_control);
    if (opts.precompressed)
      r.header("vary", "accept-encoding");
  };
  // RFC 9110 13.2.2: If-Match, else If-Unmodified-Since (412); then
  // If-None-Match, else If-Modified-Since (304 for GET and HEAD).
  auto mtime = st.st_mtim.tv_sec;
  auto precondition_failed = [] {
    return response::text(412, "Precondition Failed\n");
  };
  if (auto im = req.header("if-match")) {
    if (!strong_match(*im, etag))
      return precondition_failed();
  } else if (auto ius = req.header("if-unmodified-since")) {
    if (auto t = detail::parse_http_date(*ius); t && mtime > *t)
      return precondition_failed();
  }
  bool not_modified = false;
  if (auto inm = req.header("if-none-match")) {
    not_modified = weak_match(*inm, etag);
  } else if (auto ims = req.header("if-modified-since")) {
    auto t = detail::parse_http_date(*ims);
    not_modified = t && mtime <= *t;
  }
  if (not_modified) {
    auto r = response::status_only(304);
    validators(r);
    return r;
  }
  auto size = static_cast<uint64_t>(st.st_size);
  std::string type{detail::lookup_mime(*mime, name, opts.default_type)};
  auto finish = [&](response r) {
    validators(r);
    r.header("accept-ranges", "bytes");
    if (!coding.empty())
      r.header("content-encoding", std::string{coding});
    return r;
  };
  // Range applies to GET only (RFC 9110 14.2); If-Range needs a strong
  // match of the ETag or the exact Last-Modified date (13.1.5).
  auto range = req.header("range");
  if (range && !head) {
    bool honour = true;
    if (auto ir = req.header("if-range")) {
      if (!ir->empty() && (ir->front() == '"' || ir->starts_with("W/")))
        honour = *ir == etag;
      else
        honour = *ir == last_modified;
    }
    std::vector<byte_range> parts;
    auto verdict = honour ? parse_ranges(*range, size, opts.max_ranges, parts)
                          : range_verdict::ignore;
    if (verdict == range_verdict::unsatisfiable) {
      auto r = response::text(416, "Range Not Satisfiable\n");
      r.header("content-range", "bytes */" + std::to_string(size));
      return finish(std::move(r));
    }
    if (verdict == range_verdict::ranges && parts.size() == 1) {
      auto body = std::make_shared<file_body>(file.release(), parts[0].first,
                                              parts[0].length);
      auto r = response::file(206, std::move(body), type);
      r.header("content-range", content_range(parts[0], size));
      return finish(std::move(r));
    }
    uint64_t total = 0;
    for (const auto& p : parts)
      total += p.length;
    if (verdict == range_verdict::ranges && total <= opts.max_multipart_bytes) {
      // multipart/byteranges (RFC 9110 14.6); the boundary is the ETag's
      // hex digits, which never appear in the part headers around it.
      std::string boundary = "rr-" + etag.substr(1, etag.size() - 2);
      std::string body;
      body.reserve(total + parts.size() * 128);
      for (const auto& p : parts) {
        body += "--" + boundary + "\r\ncontent-type: " + type +
                "\r\ncontent-range: " + content_range(p, size) + "\r\n\r\n";
        if (!read_range(file.fd, p, body))
          return fail(500);
        body += "\r\n";
      }
      body += "--" + boundary + "--\r\n";
      response r{206};
      r.header("content-type", "multipart/byteranges; boundary=" + boundary);
      r.body(std::move(body));
      return finish(std::move(r));
    }
  }
  auto body = std::make_shared<file_body>(file.release(), 0, size);
  return finish(response::file(200, std::move(body), std::move(type)));
}

} // namespace

handler static_files(static_options opts, std::string& error) {
  auto st = std::make_shared<static_state>();
  st->root =
    fd_guard{::open(opts.root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)};
  if (st->root.fd < 0) {
    int err = errno;
    error = "static root " + opts.root + ": " + std::strerror(err);
    return {};
  }
  if (opts.binding.empty()) {
    error = "static_files: empty binding name";
    return {};
  }
  st->mime = detail::load_mime_table(opts.mime_types);
  st->opts = std::move(opts);
  return [st](request& req) { return st->serve(req); };
}

} // namespace roadrunner
