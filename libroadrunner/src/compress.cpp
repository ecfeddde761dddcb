#include "accept_encoding.hpp"
#include "codec.hpp"
#include "exchange.hpp"
#include "web_fields.hpp"
#include <roadrunner/compress.hpp>
#include <roadrunner/responder.hpp>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace roadrunner {

namespace {

struct compress_state {
  compress_options opts;
  detail::codec_levels levels;
  std::vector<std::string_view> offered; // into opts.codings

  std::string_view type_of(response& r) const {
    if (!r.content_type().empty())
      return r.content_type();
    auto* f = detail::find_field(r, "content-type");
    return f != nullptr ? std::string_view{*f} : std::string_view{};
  }

  bool type_ok(std::string_view type) const {
    type = detail::trim_ows(type.substr(0, type.find(';')));
    if (type.empty())
      return false;
    return std::any_of(opts.types.begin(), opts.types.end(),
                       [type](const std::string& t) {
                         if (!t.empty() && t.back() == '/')
                           return type.size() > t.size() &&
                                  http1::iequals(type.substr(0, t.size()), t);
                         return http1::iequals(type, t);
                       });
  }

  // Whether this answer may be re-encoded at all (RFC 9110 8.4, 14.4;
  // RFC 9111 5.2.2.6 no-transform).
  bool encodable(response& r) const {
    if (!allows_content(r.status()) || r.status() == 206 || r.file_body())
      return false;
    for (const auto& f : r.fields()) {
      if (http1::iequals(f.name, "content-encoding") ||
          http1::iequals(f.name, "content-range"))
        return false;
      if (http1::iequals(f.name, "cache-control") &&
          http1::has_token(f.value, "no-transform"))
        return false;
    }
    return true;
  }

  // Marks `r` as encoded with `coding`: content-encoding, a weak ETag
  // (RFC 9110 8.8.3: another representation's bytes).
  static void mark(response& r, std::string_view coding) {
    r.header("content-encoding", std::string{coding});
    if (auto* etag = detail::find_field(r, "etag");
        etag != nullptr && !etag->empty() && etag->front() == '"')
      etag->insert(0, "W/");
  }

  enum class verdict : uint8_t { as_is, encode, refuse };

  // What to do with an answer (adds `vary` when the type fits): `refuse`
  // means a 406.
  verdict decide(response& r, const detail::coding_choice& choice,
                 bool streamed) const {
    if (!encodable(r))
      return verdict::as_is;
    bool type_fits = type_ok(type_of(r));
    if (type_fits)
      detail::add_vary(r, "accept-encoding");
    if (choice.none_acceptable)
      return r.status() >= 200 && r.status() < 300 ? verdict::refuse
                                                   : verdict::as_is;
    if (choice.coding.empty())
      return verdict::as_is;
    // A client refusing identity gets an encoding whatever the size/type.
    if (!choice.identity_refused &&
        (!type_fits || (!streamed && r.body().size() < opts.min_size)))
      return verdict::as_is;
    return verdict::encode;
  }

  // A buffered body, compressed when `decide` says so. False for a 406.
  bool filter(response& r, const detail::coding_choice& choice) const {
    auto v = decide(r, choice, false);
    if (v != verdict::encode)
      return v == verdict::as_is;
    std::string out;
    if (!detail::encode_whole(choice.coding, levels, r.body(), out))
      return true; // the library failed: send it as it is
    r.body(std::move(out));
    mark(r, choice.coding);
    return true;
  }
};

response not_acceptable() {
  return response::text(406, "Not Acceptable: no content coding the client "
                             "accepts (RFC 9110 12.5.3)\n");
}

// Compresses a deferred answer as the connection takes it.
class compress_filter final : public detail::exchange_filter {
public:
  compress_filter(std::shared_ptr<const compress_state> st,
                  detail::coding_choice choice)
    : st_(std::move(st)), choice_(choice) {}

  void on_response(response& r) override {
    if (!st_->filter(r, choice_))
      r = not_acceptable();
  }

  void on_head(response& head) override {
    // A 406 cannot replace a head once streaming starts: such a stream
    // goes out unencoded.
    auto choice = choice_;
    choice.none_acceptable = false;
    if (st_->decide(head, choice, true) != compress_state::verdict::encode ||
        !st_->opts.streams)
      return;
    enc_ = detail::make_encoder(choice.coding, st_->levels);
    if (enc_)
      compress_state::mark(head, choice.coding);
  }

  void on_chunk(std::string& data) override {
    if (!enc_)
      return;
    std::string out;
    out.reserve(data.size() / 2 + 64);
    if (!enc_->update(data, out, true)) {
      enc_ = nullptr; // cannot happen with valid state; stop encoding
      return;
    }
    data = std::move(out);
  }

  std::string on_finish() override {
    std::string out;
    if (enc_)
      enc_->finish(out);
    enc_ = nullptr;
    return out;
  }

private:
  std::shared_ptr<const compress_state> st_;
  detail::coding_choice choice_;
  std::unique_ptr<detail::encoder> enc_;
};

} // namespace

middleware compress(compress_options opts) {
  auto st = std::make_shared<compress_state>();
  st->opts = std::move(opts);
  st->levels = {.gzip = st->opts.gzip_level,
                .brotli = st->opts.brotli_level,
                .zstd = st->opts.zstd_level,
                .stream_window_bits = st->opts.stream_window_bits};
  for (const auto& c : st->opts.codings)
    if (c == "gzip" || c == "br" || c == "zstd")
      st->offered.push_back(c);
  return [st](request& req, const next_fn& next) {
    if (req.method() == "HEAD")
      return next(req);
    auto choice =
      detail::choose_coding(req.header("accept-encoding"), st->offered);
    auto r = next(req);
    if (r.is_deferred()) {
      // The answer comes later: filter it as the connection takes it.
      if (auto reply = req.defer())
        if (auto* x = reply.exchange_ptr())
          x->filter(std::make_unique<compress_filter>(st, choice));
      return r;
    }
    if (!st->filter(r, choice))
      r = not_acceptable();
    return r; // one named result on every path: no move of the answer
  };
}

} // namespace roadrunner

namespace roadrunner {

middleware decompress_requests(decompress_options opts) {
  return [opts](request& req, const next_fn& next) {
    auto coding = req.header("content-encoding");
    // Manual body mode: the body is not here yet; the handler pulls it.
    if (!coding || req.body_pending() || http1::iequals(*coding, "identity"))
      return next(req);
    auto dec = detail::make_decoder(*coding);
    if (!dec) {
      // RFC 9110 15.5.16: 415, naming the codings we accept.
      auto r = response::text(415, "Unsupported Media Type: content coding "
                                   "not supported\n");
      r.header("accept-encoding", "gzip, br, zstd");
      return r;
    }
    std::string decoded;
    switch (dec->update(req.body(), decoded, opts.max_decoded)) {
    case detail::decoder::result::done:
      break;
    case detail::decoder::result::too_large:
      return response::text(413, "Content Too Large: decoded body over the "
                                 "limit\n");
    default:
      return response::text(400, "Bad Request: corrupt or truncated " +
                                   std::string{*coding} + " body\n");
    }
    req.body(decoded); // `decoded` outlives the pipeline call below
    return next(req);
  };
}

} // namespace roadrunner
