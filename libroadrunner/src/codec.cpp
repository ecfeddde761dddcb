#include "codec.hpp"

#include "http1/serializer.hpp"

#include <algorithm>
#include <brotli/decode.h>
#include <brotli/encode.h>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <zlib.h>
#include <zstd.h>

namespace roadrunner::detail {

namespace {

// Output grows by this much per library call.
constexpr size_t out_step = 16 * 1024;

// Output room for a decoder: a step, but one byte past `limit` at most
// (enough to tell that the limit was crossed).
size_t room_for(size_t have, size_t limit) noexcept {
  auto left = have >= limit ? 0 : limit - have;
  return left >= out_step ? out_step : left + 1;
}

// Live bytes a library state holds, counted by the allocator it is given
// (zlib and libbrotli take one with an opaque pointer; their free
// functions get no size, so it is kept in front of each block).
struct alloc_count {
  size_t live = 0;

  static void* alloc(void* opaque, size_t n) noexcept {
    auto* p =
      static_cast<std::max_align_t*>(std::malloc(n + sizeof(std::max_align_t)));
    if (p == nullptr)
      return nullptr;
    *reinterpret_cast<size_t*>(p) = n;
    static_cast<alloc_count*>(opaque)->live += n;
    return p + 1;
  }
  static void release(void* opaque, void* q) noexcept {
    if (q == nullptr)
      return;
    auto* p = static_cast<std::max_align_t*>(q) - 1;
    static_cast<alloc_count*>(opaque)->live -= *reinterpret_cast<size_t*>(p);
    std::free(p);
  }
  static voidpf zalloc(voidpf opaque, uInt items, uInt size) noexcept {
    return alloc(opaque, size_t{items} * size);
  }
  static void zfree(voidpf opaque, voidpf q) noexcept { release(opaque, q); }
};

// log2 of the smallest power of two >= n, within [lo, hi].
int window_for(size_t n, int lo, int hi) noexcept {
  int bits = lo;
  while (bits < hi && (size_t{1} << bits) < n)
    ++bits;
  return bits;
}

// One zlib deflate state with a gzip wrapper (windowBits + 16, RFC 1952),
// memLevel 8 as zlib's and nginx's default.
bool gzip_init(z_stream& z, int level, int window_bits) noexcept {
  return deflateInit2(&z, std::clamp(level, 1, 9), Z_DEFLATED,
                      std::clamp(window_bits, 9, 15) + 16, 8,
                      Z_DEFAULT_STRATEGY) == Z_OK;
}

// -- gzip ---------------------------------------------------------------------

class gzip_encoder final : public encoder {
public:
  gzip_encoder(int level, int window_bits) {
    z_.zalloc = alloc_count::zalloc;
    z_.zfree = alloc_count::zfree;
    z_.opaque = &count_;
    ok_ = gzip_init(z_, level, window_bits);
  }
  ~gzip_encoder() override {
    if (ok_)
      deflateEnd(&z_);
  }
  bool valid() const noexcept { return ok_; }

  bool update(std::string_view in, std::string& out, bool flush) override {
    return run(in, out, flush ? Z_SYNC_FLUSH : Z_NO_FLUSH);
  }
  bool finish(std::string& out) override { return run({}, out, Z_FINISH); }
  size_t memory() const noexcept override { return count_.live; }

private:
  bool run(std::string_view in, std::string& out, int mode) {
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z_.avail_in = static_cast<uInt>(in.size());
    for (;;) {
      auto at = out.size();
      out.resize(at + out_step);
      z_.next_out = reinterpret_cast<Bytef*>(out.data() + at);
      z_.avail_out = static_cast<uInt>(out_step);
      int rc = deflate(&z_, mode);
      out.resize(at + out_step - z_.avail_out);
      if (rc == Z_STREAM_END)
        return true;
      if (rc != Z_OK && rc != Z_BUF_ERROR)
        return false;
      if (rc == Z_BUF_ERROR && z_.avail_in == 0 && mode != Z_FINISH)
        return true; // nothing left to do
      // Done when the input is used up and deflate had room to spare.
      if (z_.avail_in == 0 && z_.avail_out != 0 && mode != Z_FINISH)
        return true;
    }
  }

  alloc_count count_;
  z_stream z_{};
  bool ok_ = false;
};

// -- brotli -------------------------------------------------------------------

// One thread's memory for brotli states of whole bodies: blocks are handed
// out of one buffer and all taken back at once after the body. brotli has
// no reset, and a state per body from malloc (some 1.6 MiB at quality 4)
// went back to the system and was faulted in again for the next body
// (147 page faults per 64 KiB response). After a body that needed more
// than the buffer holds, the buffer grows to that (up to arena_max; past
// it, blocks come from malloc).
class brotli_arena {
public:
  static constexpr size_t arena_max = 8 << 20;

  static void* alloc(void* opaque, size_t n) noexcept {
    auto& a = *static_cast<brotli_arena*>(opaque);
    n = (n + alignof(std::max_align_t) - 1) & ~(alignof(std::max_align_t) - 1);
    a.wanted_ += n;
    if (n <= a.cap_ - a.used_) {
      auto* p = a.buf_.get() + a.used_;
      a.used_ += n;
      return p;
    }
    return std::malloc(n);
  }
  static void release(void* opaque, void* p) noexcept {
    auto& a = *static_cast<brotli_arena*>(opaque);
    auto* c = static_cast<char*>(p);
    if (c < a.buf_.get() || c >= a.buf_.get() + a.cap_)
      std::free(p); // from malloc (nullptr included)
  }
  /// After a body: every block is free again.
  void reset() {
    if (wanted_ > cap_ && wanted_ <= arena_max) {
      buf_.reset(static_cast<char*>(std::malloc(wanted_))); // max_align_t
      cap_ = buf_ ? wanted_ : 0;
    }
    used_ = 0;
    wanted_ = 0;
  }

private:
  struct free_delete {
    void operator()(char* p) const noexcept { std::free(p); }
  };
  std::unique_ptr<char, free_delete> buf_;
  size_t cap_ = 0;
  size_t used_ = 0;
  size_t wanted_ = 0; // this body's blocks, fitting or not
};

class brotli_encoder final : public encoder {
public:
  // With `arena`, the state's memory comes from it (whole bodies);
  // otherwise from malloc, counted (streams).
  brotli_encoder(int level, int window_bits, size_t size_hint,
                 brotli_arena* arena = nullptr)
    : s_(arena != nullptr
           ? BrotliEncoderCreateInstance(brotli_arena::alloc,
                                         brotli_arena::release, arena)
           : BrotliEncoderCreateInstance(alloc_count::alloc,
                                         alloc_count::release, &count_)) {
    if (s_ == nullptr)
      return;
    BrotliEncoderSetParameter(s_, BROTLI_PARAM_QUALITY,
                              static_cast<uint32_t>(std::clamp(level, 0, 11)));
    BrotliEncoderSetParameter(
      s_, BROTLI_PARAM_LGWIN,
      static_cast<uint32_t>(std::clamp(window_bits, BROTLI_MIN_WINDOW_BITS,
                                       BROTLI_MAX_WINDOW_BITS)));
    if (size_hint != 0)
      BrotliEncoderSetParameter(
        s_, BROTLI_PARAM_SIZE_HINT,
        static_cast<uint32_t>(std::min<size_t>(size_hint, 1U << 30)));
  }
  ~brotli_encoder() override {
    if (s_ != nullptr)
      BrotliEncoderDestroyInstance(s_);
  }
  bool valid() const noexcept { return s_ != nullptr; }

  bool update(std::string_view in, std::string& out, bool flush) override {
    return run(in, out,
               flush ? BROTLI_OPERATION_FLUSH : BROTLI_OPERATION_PROCESS);
  }
  bool finish(std::string& out) override {
    return run({}, out, BROTLI_OPERATION_FINISH);
  }
  size_t memory() const noexcept override { return count_.live; }

private:
  bool run(std::string_view in, std::string& out, BrotliEncoderOperation op) {
    auto avail_in = in.size();
    const auto* next_in = reinterpret_cast<const uint8_t*>(in.data());
    for (;;) {
      auto at = out.size();
      out.resize(at + out_step);
      size_t avail_out = out_step;
      auto* next_out = reinterpret_cast<uint8_t*>(out.data() + at);
      if (!BrotliEncoderCompressStream(s_, op, &avail_in, &next_in, &avail_out,
                                       &next_out, nullptr)) {
        out.resize(at);
        return false;
      }
      out.resize(at + out_step - avail_out);
      if (avail_in == 0 && !BrotliEncoderHasMoreOutput(s_) &&
          (op != BROTLI_OPERATION_FINISH || BrotliEncoderIsFinished(s_)))
        return true;
    }
  }

  alloc_count count_; // before s_: the state is made with it
  BrotliEncoderState* s_;
};

// -- zstd ---------------------------------------------------------------------

class zstd_encoder final : public encoder {
public:
  zstd_encoder(int level, int window_bits, size_t size_hint)
    : c_(ZSTD_createCCtx()) {
    if (c_ == nullptr)
      return;
    ZSTD_CCtx_setParameter(c_, ZSTD_c_compressionLevel,
                           std::clamp(level, 1, 19));
    if (size_hint != 0) {
      // Tables and window follow the size (and the frame records it).
      ZSTD_CCtx_setPledgedSrcSize(c_, size_hint);
    } else {
      auto bounds = ZSTD_cParam_getBounds(ZSTD_c_windowLog);
      ZSTD_CCtx_setParameter(
        c_, ZSTD_c_windowLog,
        std::clamp(window_bits, bounds.lowerBound, bounds.upperBound));
    }
  }
  ~zstd_encoder() override { ZSTD_freeCCtx(c_); }
  bool valid() const noexcept { return c_ != nullptr; }

  bool update(std::string_view in, std::string& out, bool flush) override {
    return run(in, out, flush ? ZSTD_e_flush : ZSTD_e_continue);
  }
  bool finish(std::string& out) override { return run({}, out, ZSTD_e_end); }
  size_t memory() const noexcept override { return ZSTD_sizeof_CCtx(c_); }

private:
  bool run(std::string_view in, std::string& out, ZSTD_EndDirective mode) {
    ZSTD_inBuffer input{in.data(), in.size(), 0};
    for (;;) {
      auto at = out.size();
      out.resize(at + out_step);
      ZSTD_outBuffer output{out.data() + at, out_step, 0};
      auto left = ZSTD_compressStream2(c_, &output, &input, mode);
      out.resize(at + output.pos);
      if (ZSTD_isError(left))
        return false;
      // e_continue: done once the input is consumed; flush/end: once
      // nothing is left to write.
      if (mode == ZSTD_e_continue ? input.pos == input.size : left == 0)
        return true;
    }
  }

  ZSTD_CCtx* c_;
};

// -- whole bodies -------------------------------------------------------------

// A per-thread output buffer for one-shot compression: grown to the
// largest bound seen (up to scratch_max), never zero-filled; the result is
// copied out at its compressed size.
constexpr size_t scratch_max = 1 << 20;

char* scratch(size_t n) {
  thread_local std::unique_ptr<char[]> buf;
  thread_local size_t cap = 0;
  if (n > cap) {
    buf.reset(new char[n]);
    cap = n;
  }
  return buf.get();
}

// Runs `f(dst, cap)` -> compressed size (0: failed) into the scratch
// buffer, or straight into `out` when the bound is over scratch_max.
template <class F>
bool into(std::string& out, size_t bound, F&& f) {
  if (bound <= scratch_max) {
    char* dst = scratch(bound);
    auto n = f(dst, bound);
    if (n == 0)
      return false;
    out.assign(dst, n);
    return true;
  }
  out.resize(bound);
  auto n = f(out.data(), bound);
  out.resize(n);
  return n != 0;
}

// zlib's state for one thread, reset per body: deflateInit2 allocates
// about 256 KiB (window, prev, head, pending) that each response would
// otherwise get from malloc and, past the trim threshold, fault in again.
struct gzip_cache {
  z_stream z{};
  int level = 0; // 0: no state
  gzip_cache() = default;
  gzip_cache(const gzip_cache&) = delete;
  gzip_cache& operator=(const gzip_cache&) = delete;
  ~gzip_cache() {
    if (level != 0)
      deflateEnd(&z);
  }
  z_stream* get(int want) {
    want = std::clamp(want, 1, 9);
    if (level == want)
      return deflateReset(&z) == Z_OK ? &z : nullptr;
    if (level != 0)
      deflateEnd(&z);
    z = z_stream{};
    level = gzip_init(z, want, 15) ? want : 0;
    return level != 0 ? &z : nullptr;
  }
};

bool gzip_whole(int level, std::string_view in, std::string& out) {
  thread_local gzip_cache cache;
  auto* z = cache.get(level);
  if (z == nullptr)
    return false;
  auto bound = deflateBound(z, static_cast<uLong>(in.size()));
  return into(out, bound, [&](char* dst, size_t cap) -> size_t {
    z->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z->avail_in = static_cast<uInt>(in.size());
    z->next_out = reinterpret_cast<Bytef*>(dst);
    z->avail_out = static_cast<uInt>(cap);
    if (deflate(z, Z_FINISH) != Z_STREAM_END)
      return 0;
    return cap - z->avail_out;
  });
}

struct zstd_cache {
  ZSTD_CCtx* c = ZSTD_createCCtx();
  zstd_cache() = default;
  zstd_cache(const zstd_cache&) = delete;
  zstd_cache& operator=(const zstd_cache&) = delete;
  ~zstd_cache() { ZSTD_freeCCtx(c); }
};

bool brotli_whole(const codec_levels& levels, std::string_view in,
                  std::string& out) {
  thread_local brotli_arena arena;
  bool ok = false;
  {
    // A window as large as the body (at most brotli's usual 4 MiB).
    brotli_encoder enc(levels.brotli,
                       window_for(in.size(), BROTLI_MIN_WINDOW_BITS, 22),
                       in.size(), &arena);
    out.clear();
    out.reserve(in.size() / 3 + 64);
    ok = enc.valid() && enc.update(in, out, false) && enc.finish(out);
  }
  arena.reset();
  return ok;
}

bool zstd_whole(int level, std::string_view in, std::string& out) {
  thread_local zstd_cache cache;
  auto* c = cache.c;
  if (c == nullptr ||
      ZSTD_isError(ZSTD_CCtx_reset(c, ZSTD_reset_session_and_parameters)) ||
      ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel,
                                          std::clamp(level, 1, 19))))
    return false;
  return into(out, ZSTD_compressBound(in.size()),
              [&](char* dst, size_t cap) -> size_t {
                // Knows the size: tables and window sized for it.
                auto n = ZSTD_compress2(c, dst, cap, in.data(), in.size());
                return ZSTD_isError(n) ? 0 : n;
              });
}

// -- decoders -----------------------------------------------------------------

class gzip_decoder final : public decoder {
public:
  gzip_decoder() {
    // 15 + 32: a gzip or zlib wrapper, detected from the header.
    ok_ = inflateInit2(&z_, 15 + 32) == Z_OK;
  }
  ~gzip_decoder() override {
    if (ok_)
      inflateEnd(&z_);
  }
  bool valid() const noexcept { return ok_; }

  result update(std::string_view in, std::string& out, size_t limit) override {
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z_.avail_in = static_cast<uInt>(in.size());
    for (;;) {
      auto room = room_for(out.size(), limit);
      auto at = out.size();
      out.resize(at + room);
      z_.next_out = reinterpret_cast<Bytef*>(out.data() + at);
      z_.avail_out = static_cast<uInt>(room);
      int rc = inflate(&z_, Z_NO_FLUSH);
      out.resize(at + room - z_.avail_out);
      if (out.size() > limit)
        return result::too_large;
      if (rc == Z_STREAM_END)
        return z_.avail_in == 0 ? result::done : result::corrupt;
      if (rc != Z_OK && rc != Z_BUF_ERROR)
        return result::corrupt;
      if (z_.avail_in == 0 && z_.avail_out != 0)
        return result::ok;
    }
  }

private:
  z_stream z_{};
  bool ok_ = false;
};

class brotli_decoder final : public decoder {
public:
  brotli_decoder()
    : s_(BrotliDecoderCreateInstance(nullptr, nullptr, nullptr)) {}
  ~brotli_decoder() override {
    if (s_ != nullptr)
      BrotliDecoderDestroyInstance(s_);
  }
  bool valid() const noexcept { return s_ != nullptr; }

  result update(std::string_view in, std::string& out, size_t limit) override {
    auto avail_in = in.size();
    const auto* next_in = reinterpret_cast<const uint8_t*>(in.data());
    for (;;) {
      auto room = room_for(out.size(), limit);
      auto at = out.size();
      out.resize(at + room);
      size_t avail_out = room;
      auto* next_out = reinterpret_cast<uint8_t*>(out.data() + at);
      auto rc = BrotliDecoderDecompressStream(s_, &avail_in, &next_in,
                                              &avail_out, &next_out, nullptr);
      out.resize(at + room - avail_out);
      if (out.size() > limit)
        return result::too_large;
      if (rc == BROTLI_DECODER_RESULT_SUCCESS)
        return avail_in == 0 ? result::done : result::corrupt;
      if (rc == BROTLI_DECODER_RESULT_ERROR)
        return result::corrupt;
      if (rc == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT)
        return result::ok;
    }
  }

private:
  BrotliDecoderState* s_;
};

class zstd_decoder final : public decoder {
public:
  zstd_decoder() : d_(ZSTD_createDCtx()) {}
  ~zstd_decoder() override { ZSTD_freeDCtx(d_); }
  bool valid() const noexcept { return d_ != nullptr; }

  result update(std::string_view in, std::string& out, size_t limit) override {
    ZSTD_inBuffer input{in.data(), in.size(), 0};
    for (;;) {
      auto room = room_for(out.size(), limit);
      auto at = out.size();
      out.resize(at + room);
      ZSTD_outBuffer output{out.data() + at, room, 0};
      auto rc = ZSTD_decompressStream(d_, &output, &input);
      out.resize(at + output.pos);
      if (ZSTD_isError(rc))
        return result::corrupt;
      if (out.size() > limit)
        return result::too_large;
      if (rc == 0)
        return input.pos == input.size ? result::done : result::corrupt;
      if (input.pos == input.size && output.pos < output.size)
        return result::ok;
    }
  }

private:
  ZSTD_DCtx* d_;
};

template <class T, class... Ts>
std::unique_ptr<T> checked(Ts... xs) {
  auto p = std::make_unique<T>(xs...);
  return p->valid() ? std::move(p) : nullptr;
}

} // namespace

std::unique_ptr<encoder> make_encoder(std::string_view coding,
                                      const codec_levels& levels,
                                      size_t size_hint) {
  // A body's window follows its size (up to each library's usual one); a
  // stream's is stream_window_bits.
  auto bits = [&](int usual) {
    return size_hint != 0 ? window_for(size_hint, 10, usual)
                          : std::min(levels.stream_window_bits, usual);
  };
  if (coding == "gzip")
    return checked<gzip_encoder>(levels.gzip, bits(15));
  if (coding == "br")
    return checked<brotli_encoder>(levels.brotli, bits(22), size_hint);
  if (coding == "zstd")
    return checked<zstd_encoder>(levels.zstd, bits(27), size_hint);
  return nullptr;
}

bool encode_whole(std::string_view coding, const codec_levels& levels,
                  std::string_view in, std::string& out) {
  // zlib counts in 32-bit uInt: a larger body takes the streaming path.
  if (coding == "gzip" && in.size() < (size_t{1} << 31))
    return gzip_whole(levels.gzip, in, out);
  if (coding == "zstd")
    return zstd_whole(levels.zstd, in, out);
  if (coding == "br")
    return brotli_whole(levels, in, out);
  auto enc = make_encoder(coding, levels, in.size());
  out.clear();
  out.reserve(in.size() / 3 + 64);
  return enc && enc->update(in, out, false) && enc->finish(out);
}

std::unique_ptr<decoder> make_decoder(std::string_view coding) {
  if (http1::iequals(coding, "gzip") || http1::iequals(coding, "x-gzip"))
    return checked<gzip_decoder>();
  if (http1::iequals(coding, "br"))
    return checked<brotli_decoder>();
  if (http1::iequals(coding, "zstd"))
    return checked<zstd_decoder>();
  return nullptr;
}

} // namespace roadrunner::detail
