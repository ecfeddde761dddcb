#include "codec.hpp"

#include "http1/serializer.hpp"

#include <algorithm>
#include <brotli/decode.h>
#include <brotli/encode.h>
#include <cstdint>
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

// -- gzip ---------------------------------------------------------------------

class gzip_encoder final : public encoder {
public:
  explicit gzip_encoder(int level) {
    // windowBits 15 + 16: a gzip wrapper (RFC 1952), as "gzip" means.
    ok_ = deflateInit2(&z_, std::clamp(level, 1, 9), Z_DEFLATED, 15 + 16, 8,
                       Z_DEFAULT_STRATEGY) == Z_OK;
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

  z_stream z_{};
  bool ok_ = false;
};

// -- brotli -------------------------------------------------------------------

class brotli_encoder final : public encoder {
public:
  explicit brotli_encoder(int level)
    : s_(BrotliEncoderCreateInstance(nullptr, nullptr, nullptr)) {
    if (s_ == nullptr)
      return;
    BrotliEncoderSetParameter(s_, BROTLI_PARAM_QUALITY,
                              static_cast<uint32_t>(std::clamp(level, 0, 11)));
    // A 1 MiB window: enough for web responses, bounded memory.
    BrotliEncoderSetParameter(s_, BROTLI_PARAM_LGWIN, 20);
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

  BrotliEncoderState* s_;
};

// -- zstd ---------------------------------------------------------------------

class zstd_encoder final : public encoder {
public:
  explicit zstd_encoder(int level) : c_(ZSTD_createCCtx()) {
    if (c_ != nullptr)
      ZSTD_CCtx_setParameter(c_, ZSTD_c_compressionLevel,
                             std::clamp(level, 1, 19));
  }
  ~zstd_encoder() override { ZSTD_freeCCtx(c_); }
  bool valid() const noexcept { return c_ != nullptr; }

  bool update(std::string_view in, std::string& out, bool flush) override {
    return run(in, out, flush ? ZSTD_e_flush : ZSTD_e_continue);
  }
  bool finish(std::string& out) override { return run({}, out, ZSTD_e_end); }

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
                                      const codec_levels& levels) {
  if (coding == "gzip")
    return checked<gzip_encoder>(levels.gzip);
  if (coding == "br")
    return checked<brotli_encoder>(levels.brotli);
  if (coding == "zstd")
    return checked<zstd_encoder>(levels.zstd);
  return nullptr;
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
