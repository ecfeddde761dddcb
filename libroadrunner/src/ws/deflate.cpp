#include "ws/deflate.hpp"

#include "http1/serializer.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>
#include <zlib.h>

namespace roadrunner::ws {

// -- negotiation --------------------------------------------------------------

namespace {

std::string_view trim(std::string_view x) {
  while (!x.empty() && (x.front() == ' ' || x.front() == '\t'))
    x.remove_prefix(1);
  while (!x.empty() && (x.back() == ' ' || x.back() == '\t'))
    x.remove_suffix(1);
  return x;
}

// Splits `x` at `sep` outside double quotes.
std::vector<std::string_view> split(std::string_view x, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  bool quoted = false;
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i] == '"')
      quoted = !quoted;
    else if (x[i] == sep && !quoted) {
      out.push_back(trim(x.substr(start, i - start)));
      start = i + 1;
    }
  }
  out.push_back(trim(x.substr(start)));
  return out;
}

// A window size parameter's value: 8..15, as a token or quoted string
// (RFC 7692 7.1.2); -1 when invalid.
int window_bits(std::string_view v) {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"')
    v = v.substr(1, v.size() - 2);
  if (v.size() == 1 && v[0] >= '8' && v[0] <= '9')
    return v[0] - '0';
  if (v.size() == 2 && v[0] == '1' && v[1] >= '0' && v[1] <= '5')
    return 10 + (v[1] - '0');
  return -1;
}

// One offer's parameters, or nullopt when it must be declined.
std::optional<deflate_params> accept_offer(std::vector<std::string_view>& parts,
                                           const deflate_config& cfg) {
  deflate_params p;
  p.server_max_window_bits = cfg.max_window_bits;
  p.server_no_context_takeover = cfg.server_no_context_takeover;
  bool seen[4] = {false, false, false, false};
  for (size_t i = 1; i < parts.size(); ++i) {
    auto eq = parts[i].find('=');
    auto name = trim(parts[i].substr(0, eq));
    auto value = eq == std::string_view::npos ? std::string_view{}
                                              : trim(parts[i].substr(eq + 1));
    bool has_value = eq != std::string_view::npos;
    int idx = -1;
    if (http1::iequals(name, "server_no_context_takeover"))
      idx = 0;
    else if (http1::iequals(name, "client_no_context_takeover"))
      idx = 1;
    else if (http1::iequals(name, "server_max_window_bits"))
      idx = 2;
    else if (http1::iequals(name, "client_max_window_bits"))
      idx = 3;
    if (idx < 0 || seen[idx])
      return std::nullopt; // unknown or repeated (RFC 7692 5.1)
    seen[idx] = true;
    switch (idx) {
    case 0:
    case 1:
      if (has_value)
        return std::nullopt;
      (idx == 0 ? p.server_no_context_takeover : p.client_no_context_takeover) =
        true;
      break;
    case 2: {
      auto bits = window_bits(value);
      // zlib makes no raw deflate stream with an 8-bit window.
      if (bits < 9)
        return std::nullopt;
      if (bits < p.server_max_window_bits)
        p.server_max_window_bits = bits;
      break;
    }
    case 3:
      p.client_window_offered = true;
      if (has_value) {
        auto bits = window_bits(value);
        if (bits < 0)
          return std::nullopt;
        p.client_max_window_bits = bits;
      }
      break;
    }
  }
  return p;
}

} // namespace

std::optional<deflate_params> negotiate_deflate(std::string_view offers,
                                                const deflate_config& cfg) {
  if (trim(offers).empty())
    return std::nullopt;
  for (auto ext : split(offers, ',')) {
    auto parts = split(ext, ';');
    if (!http1::iequals(parts[0], "permessage-deflate"))
      continue;
    if (auto p = accept_offer(parts, cfg))
      return p;
  }
  return std::nullopt;
}

std::string extension_header(const deflate_params& p) {
  std::string out = "permessage-deflate";
  if (p.server_no_context_takeover)
    out += "; server_no_context_takeover";
  if (p.client_no_context_takeover)
    out += "; client_no_context_takeover";
  if (p.server_max_window_bits < 15)
    out +=
      "; server_max_window_bits=" + std::to_string(p.server_max_window_bits);
  if (p.client_window_offered && p.client_max_window_bits < 15)
    out +=
      "; client_max_window_bits=" + std::to_string(p.client_max_window_bits);
  return out;
}

// -- streams ------------------------------------------------------------------

struct deflate_session::zstreams {
  z_stream def{};
  z_stream inf{};
  bool def_ready = false;
  bool inf_ready = false;
};

namespace {

// zlib's allocations, counted per session (a size header before each).
voidpf counted_alloc(voidpf opaque, uInt items, uInt size) {
  auto bytes = static_cast<size_t>(items) * size;
  auto* p = static_cast<size_t*>(std::malloc(bytes + sizeof(size_t) * 2));
  if (p == nullptr)
    return Z_NULL;
  p[0] = bytes;
  *static_cast<size_t*>(opaque) += bytes;
  return p + 2;
}

void counted_free(voidpf opaque, voidpf ptr) {
  if (ptr == Z_NULL)
    return;
  auto* p = static_cast<size_t*>(ptr) - 2;
  *static_cast<size_t*>(opaque) -= p[0];
  std::free(p);
}

constexpr char tail[4] = {'\x00', '\x00', '\xff', '\xff'};

} // namespace

deflate_session::deflate_session(const deflate_params& p, int mem_level)
  : params_(p), mem_level_(mem_level), z_(std::make_unique<zstreams>()) {}

deflate_session::~deflate_session() {
  if (z_->def_ready)
    deflateEnd(&z_->def);
  if (z_->inf_ready)
    inflateEnd(&z_->inf);
}

bool deflate_session::compress(std::string_view in, std::string& out) {
  auto& s = z_->def;
  if (!z_->def_ready) {
    s.zalloc = counted_alloc;
    s.zfree = counted_free;
    s.opaque = &memory_;
    if (deflateInit2(&s, Z_DEFAULT_COMPRESSION, Z_DEFLATED,
                     -params_.server_max_window_bits, mem_level_,
                     Z_DEFAULT_STRATEGY) != Z_OK)
      return false;
    z_->def_ready = true;
  }
  auto start = out.size();
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  s.avail_in = static_cast<uInt>(in.size());
  // RFC 7692 7.2.1: compress, end with an empty stored block (sync flush),
  // then drop its 00 00 ff ff.
  for (;;) {
    auto have = out.size();
    auto room = deflateBound(&s, s.avail_in) + 16;
    out.resize(have + room);
    s.next_out = reinterpret_cast<Bytef*>(out.data() + have);
    s.avail_out = static_cast<uInt>(room);
    auto rc = deflate(&s, Z_SYNC_FLUSH);
    out.resize(have + (room - s.avail_out));
    if (rc != Z_OK && rc != Z_BUF_ERROR)
      return false;
    if (s.avail_in == 0 && s.avail_out != 0)
      break;
  }
  if (out.size() - start >= 4 &&
      std::memcmp(out.data() + out.size() - 4, tail, 4) == 0)
    out.resize(out.size() - 4);
  if (params_.server_no_context_takeover)
    deflateReset(&s);
  return true;
}

inflate_result deflate_session::decompress(std::string_view in,
                                           std::string& out, uint64_t max) {
  // One byte past the limit tells a bomb; keep max + 1 from overflowing.
  max = std::min<uint64_t>(max, uint64_t{1} << 62);
  auto& s = z_->inf;
  if (!z_->inf_ready) {
    s.zalloc = counted_alloc;
    s.zfree = counted_free;
    s.opaque = &memory_;
    // 15 inflates any window the client may use.
    if (inflateInit2(&s, -15) != Z_OK)
      return inflate_result::bad_data;
    z_->inf_ready = true;
  }
  // RFC 7692 7.2.2: append the tail the sender stripped.
  std::string_view pieces[2] = {in, {tail, 4}};
  for (auto piece : pieces) {
    s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(piece.data()));
    s.avail_in = static_cast<uInt>(piece.size());
    while (s.avail_in > 0) {
      auto have = out.size();
      size_t room = 16384;
      if (have + room > max + 1)
        room = max + 1 - have; // one byte over the limit is enough to know
      out.resize(have + room);
      s.next_out = reinterpret_cast<Bytef*>(out.data() + have);
      s.avail_out = static_cast<uInt>(room);
      auto rc = inflate(&s, Z_SYNC_FLUSH);
      out.resize(have + (room - s.avail_out));
      if (out.size() > max)
        return inflate_result::too_big;
      if (rc == Z_STREAM_END) {
        // A final block ends the stream: the next message starts anew.
        inflateReset(&s);
        break;
      }
      if (rc != Z_OK && rc != Z_BUF_ERROR)
        return inflate_result::bad_data;
      if (rc == Z_BUF_ERROR && s.avail_out != 0)
        break; // needs input that is not there: truncated data
    }
  }
  if (params_.client_no_context_takeover)
    inflateReset(&s);
  return inflate_result::ok;
}

} // namespace roadrunner::ws
