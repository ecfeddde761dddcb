// The exchange behind responders and stream writers (no connection: a test
// exchange records wake-ups), the SSE formatter and the chunked framing.

#include "exchange.hpp"
#include "http1/serializer.hpp"
#include <roadrunner/responder.hpp>
#include <roadrunner/sse.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

using namespace roadrunner;

namespace {

struct test_exchange : detail::exchange {
  std::atomic<int> wakes{0};
  void wake() noexcept override { ++wakes; }

  std::vector<detail::exchange_op> drain() {
    std::vector<detail::exchange_op> out;
    take(out);
    return out;
  }
};

} // namespace

TEST_SUITE("unit.responder") {

  TEST_CASE("first completion wins; later ones are refused") {
    auto x = std::make_shared<test_exchange>();
    responder r{x};
    CHECK_FALSE(r.done());
    CHECK(r.send(response::text(200, "a")));
    CHECK_FALSE(r.send(response::text(200, "b")));
    CHECK_FALSE(r.stream(response{200}));
    CHECK(r.done());
    auto ops = x->drain();
    REQUIRE(ops.size() == 1);
    CHECK(ops[0].what == detail::exchange_op::kind::respond);
    CHECK(ops[0].resp.body() == "a");
    CHECK(x->wakes == 1);
  }

  TEST_CASE("one wake-up per batch of operations") {
    auto x = std::make_shared<test_exchange>();
    responder r{x};
    auto w = r.stream(response{200});
    REQUIRE(w);
    CHECK(w.write("a") == write_status::ok);
    CHECK(w.write("b") == write_status::ok);
    CHECK(x->wakes == 1); // start, a, b: queued behind one wake-up
    CHECK(x->drain().size() == 3);
    CHECK(w.write("c") == write_status::ok);
    CHECK(x->wakes == 2);
  }

  TEST_CASE("the last handle dropped unanswered abandons the request") {
    auto x = std::make_shared<test_exchange>();
    {
      responder r{x};
      responder copy = r;
      (void)copy;
    }
    auto ops = x->drain();
    REQUIRE(ops.size() == 1);
    CHECK(ops[0].what == detail::exchange_op::kind::abandon);
    // A completed request is not abandoned.
    auto y = std::make_shared<test_exchange>();
    { responder{y}.send(response{204}); }
    auto yops = y->drain();
    REQUIRE(yops.size() == 1);
    CHECK(yops[0].what == detail::exchange_op::kind::respond);
  }

  TEST_CASE("a writer keeps the request alive after its responder is gone") {
    auto x = std::make_shared<test_exchange>();
    stream_writer w;
    { w = responder{x}.stream(response{200}); }
    CHECK(w.write("x") == write_status::ok);
    CHECK(w.finish());
    auto ops = x->drain();
    REQUIRE(ops.size() == 3);
    CHECK(ops[2].what == detail::exchange_op::kind::finish);
  }

  TEST_CASE("backpressure: full past the limit, on_ready at half") {
    auto x = std::make_shared<test_exchange>();
    auto w = responder{x}.stream(response{200});
    int ready = 0;
    w.on_ready([&] { ++ready; });
    std::string piece(64 * 1024, 'p');
    size_t accepted = 0;
    while (w.write(piece) == write_status::ok)
      accepted += piece.size();
    CHECK(accepted == stream_writer::limit);
    CHECK(w.buffered() == stream_writer::limit);
    // One huge piece is accepted when nothing is buffered.
    auto y = std::make_shared<test_exchange>();
    auto big = responder{y}.stream(response{200});
    CHECK(big.write(std::string(stream_writer::limit * 2, 'b')) ==
          write_status::ok);
    // The connection reports what it wrote.
    x->written(64 * 1024);
    CHECK(ready == 0); // 192 KiB still buffered: above half
    x->written(64 * 1024);
    CHECK(ready == 1);
    x->written(64 * 1024);
    CHECK(ready == 1); // once per `full`
    CHECK(w.buffered() == 64 * 1024);
  }

  TEST_CASE("cancel: writes refused, on_cancel once, on_close always") {
    auto x = std::make_shared<test_exchange>();
    responder r{x};
    int cancelled = 0;
    int closed = 0;
    r.on_cancel([&] { ++cancelled; });
    x->set_on_close([&] { ++closed; });
    auto w = r.stream(response{200});
    x->cancel();
    x->cancel();
    CHECK(cancelled == 1);
    CHECK(closed == 1);
    CHECK(w.write("late") == write_status::closed);
    CHECK(w.closed());
    CHECK_FALSE(w.finish());
    // A request the handler completed is closed, not cancelled.
    auto y = std::make_shared<test_exchange>();
    responder ry{y};
    int ycancel = 0;
    int yclose = 0;
    ry.on_cancel([&] { ++ycancel; });
    y->set_on_close([&] { ++yclose; });
    ry.send(response{200});
    y->cancel();
    CHECK(ycancel == 0);
    CHECK(yclose == 1);
  }

  TEST_CASE("an unsafe stream head becomes a 500") {
    auto x = std::make_shared<test_exchange>();
    response head{200};
    head.header("x-bad", "a\r\nb");
    CHECK_FALSE(responder{x}.stream(std::move(head)));
    auto ops = x->drain();
    REQUIRE(ops.size() >= 1);
    CHECK(ops[0].what == detail::exchange_op::kind::respond);
    CHECK(ops[0].resp.status() == 500);
  }

  TEST_CASE("completions from many threads: exactly one wins") {
    auto x = std::make_shared<test_exchange>();
    responder r{x};
    std::atomic<int> wins{0};
    std::vector<std::thread> ts;
    for (int i = 0; i < 8; ++i)
      ts.emplace_back([&, i] {
        if (r.send(response::text(200, std::to_string(i))))
          ++wins;
      });
    for (auto& t : ts)
      t.join();
    CHECK(wins == 1);
  }
}

TEST_SUITE("unit.sse") {

  TEST_CASE("events: fields, multi-line data, no injection") {
    auto e = sse::format(
      {.data = "a\nb\r\nc\rd", .type = "t", .id = "7", .retry_ms = 1500});
    REQUIRE(e);
    CHECK(*e == "event: t\nid: 7\nretry: 1500\ndata: a\ndata: b\ndata: "
                "c\ndata: d\n\n");
    CHECK(*sse::format({.data = ""}) == "data: \n\n");
    CHECK(*sse::format({.data = "x\n"}) == "data: x\ndata: \n\n");
    CHECK_FALSE(sse::format({.data = "x", .type = "a\nevent: forged"}));
    CHECK_FALSE(sse::format({.data = "x", .id = "1\r"}));
    CHECK_FALSE(sse::format({.data = "x", .id = std::string_view{"1\0", 2}}));
    CHECK(sse::comment("ping\nevent: x") == ": ping event: x\n");
    auto h = sse::head();
    CHECK(h.status() == 200);
    bool type = false;
    for (auto& f : h.fields())
      type =
        type || (f.name == "content-type" && f.value == "text/event-stream");
    CHECK(type);
  }
}

TEST_SUITE("unit.serializer.stream") {

  TEST_CASE("stream head, chunk sizes, last chunk with trailers") {
    std::string out;
    response head{200};
    head.header("x-a", "1");
    head.header("content-length", "99"); // framing is ours: dropped
    http1::write_stream_head(out, head, "DATE", http1::connection_field::none,
                             true);
    CHECK(out == "HTTP/1.1 200 OK\r\ndate: DATE\r\nx-a: 1\r\n"
                 "transfer-encoding: chunked\r\n\r\n");
    out.clear();
    http1::write_chunk_size(out, 1);
    http1::write_chunk_size(out, 4096);
    http1::write_chunk_size(out, 0xabcdef);
    CHECK(out == "1\r\n1000\r\nabcdef\r\n");
    out.clear();
    std::vector<response::field> trailers{{"x-sum", "42"}};
    CHECK(http1::is_writable_trailers(trailers));
    http1::write_last_chunk(out, trailers);
    CHECK(out == "0\r\nx-sum: 42\r\n\r\n");
    std::vector<response::field> bad{{"x", "a\nb"}};
    CHECK_FALSE(http1::is_writable_trailers(bad));
    std::vector<response::field> framing{{"Content-Length", "1"}};
    CHECK_FALSE(http1::is_writable_trailers(framing));
    std::vector<response::field> name{{"bad name", "1"}};
    CHECK_FALSE(http1::is_writable_trailers(name));
  }
}
