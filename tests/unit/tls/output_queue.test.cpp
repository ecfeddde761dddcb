#include "io/output_queue.hpp"

#include "fixture.hpp"
#include <roadrunner/file_body.hpp>

#include <doctest/doctest.h>

#include <signal.h>
#include <unistd.h>

#include <memory>
#include <string>

using namespace roadrunner;
using io::output_queue;
using tls::status;
using tlstest::pki;

namespace {

// A server session with an output queue, and a slow client, on a
// socketpair (or a TCP pair: kTLS needs TCP).
template <class Pair>
struct basic_tls_conn {
  Pair sp;
  tls::session server;
  tlstest::client client;
  output_queue out;

  explicit basic_tls_conn(const tls::context_ptr& ctx)
    : server(ctx, sp.server), client(sp.client, {}) {
    sp.make_small();
    auto hs = tlstest::handshake(server, client);
    REQUIRE(hs.server == status::ok);
    REQUIRE(hs.client == 1);
  }

  // Flushes until done, reading at most `step` bytes per round on the
  // client side; returns what the client received. Counts blocked flushes.
  std::string deliver(size_t step, int& blocked) {
    std::string got;
    auto total = out.pending(); // at least what will arrive
    for (int round = 0; round < 200000; ++round) {
      auto r = out.flush(server);
      REQUIRE(r != output_queue::result::failed);
      if (r == output_queue::result::done) {
        // The rest may still be on its way (loopback TCP).
        for (int i = 0; i < 1000; ++i) {
          if (client.read(got) == 1)
            continue;
          if (got.size() >= total && i > 0)
            break;
          tlstest::wait_input(sp.client);
        }
        return got;
      }
      ++blocked;
      std::string piece;
      REQUIRE(client.read(piece, step) >= 0);
      if (piece.empty())
        tlstest::wait_input(sp.client);
      got += piece;
    }
    FAIL("flush never finished");
    return got;
  }
};

using tls_conn = basic_tls_conn<tlstest::socket_pair>;
using tcp_tls_conn = basic_tls_conn<tlstest::tcp_pair>;

} // namespace

TEST_SUITE("io.output_queue.tls") {

  TEST_CASE("byte segments and file ranges leave in order through TLS") {
    auto ctx = tlstest::make_ctx(tlstest::pem_options(*pki::get().ec));
    tlstest::temp_dir dir;
    auto content = tlstest::pattern(200 * 1024 + 13, 7);
    auto path = dir.write("body.bin", content);
    tls_conn c{ctx};
    auto whole = std::make_shared<file_body>(path, 0, -1);
    auto range = std::make_shared<file_body>(path, 1000, 50000);
    REQUIRE(whole->error() == 0);
    REQUIRE(range->error() == 0);
    c.out.buffer() += "head1;";
    c.out.append_file(whole);
    c.out.buffer() += "head2;";
    c.out.append_body(tlstest::pattern(40000, 8));
    c.out.append_file(range);
    c.out.buffer() += "tail";
    auto expected = "head1;" + content + "head2;" + tlstest::pattern(40000, 8) +
                    content.substr(1000, 50000) + "tail";
    CHECK(c.out.pending() == expected.size());
    int blocked = 0;
    auto got = c.deliver(5000, blocked);
    CHECK(c.out.empty());
    CHECK(got.size() == expected.size());
    CHECK((got == expected));
    CHECK(blocked > 0);
  }

  TEST_CASE("appending while blocked keeps the record in flight intact") {
    auto ctx = tlstest::make_ctx(tlstest::pem_options(*pki::get().ec));
    tls_conn c{ctx};
    std::string expected;
    int blocked = 0;
    std::string got;
    for (int i = 0; i < 30; ++i) {
      // Small heads land in the open buffer behind a record in flight.
      auto head = std::string{"h"}.append(std::to_string(i)).append(";");
      auto body = tlstest::pattern(9000 + static_cast<size_t>(i), 10u + i);
      c.out.buffer() += head;
      c.out.buffer() += body; // copied: stays in the open segment
      expected += head + body;
      if (c.out.flush(c.server) == output_queue::result::blocked) {
        ++blocked;
        std::string piece;
        REQUIRE(c.client.read(piece, 2000) >= 0);
        got += piece;
      }
    }
    got += c.deliver(7000, blocked);
    CHECK(got.size() == expected.size());
    CHECK((got == expected));
    CHECK(blocked > 0);
  }

  TEST_CASE("a file that shrank fails the TLS flush") {
    auto ctx = tlstest::make_ctx(tlstest::pem_options(*pki::get().ec));
    tlstest::temp_dir dir;
    auto path = dir.write("shrinks.bin", tlstest::pattern(10000, 9));
    tls_conn c{ctx};
    auto body = std::make_shared<file_body>(path, 0, -1);
    REQUIRE(body->error() == 0);
    c.out.append_file(body);
    REQUIRE(::truncate(path.c_str(), 100) == 0);
    CHECK(c.out.flush(c.server) == output_queue::result::failed);
  }

  TEST_CASE("a session that failed fails the flush") {
    auto ctx = tlstest::make_ctx(tlstest::pem_options(*pki::get().ec));
    tls_conn c{ctx};
    ::close(c.sp.client);
    c.sp.client = -1;
    auto* old = ::signal(SIGPIPE, SIG_DFL);
    c.out.append_body(tlstest::pattern(30000, 11));
    CHECK(c.out.flush(c.server) == output_queue::result::failed);
    CHECK_FALSE(c.server.error().empty());
    ::signal(SIGPIPE, old);
  }

  TEST_CASE("with kTLS asked for, file ranges leave by SSL_sendfile where "
            "the kernel encrypts, else by pread-and-write") {
    auto* old = ::signal(SIGPIPE, SIG_DFL); // a SIGPIPE fails the test
    auto opts = tlstest::pem_options(*pki::get().ec);
    opts.ktls = true;
    auto ctx = tlstest::make_ctx(opts);
    tlstest::temp_dir dir;
    auto content = tlstest::pattern(300 * 1024 + 5, 13);
    auto path = dir.write("body.bin", content);
    tcp_tls_conn c{ctx};
    MESSAGE("kernel TLS: " << (c.server.ktls_send()
                                 ? std::string{"on (SSL_sendfile)"}
                                 : "off, pread-and-write (" +
                                     c.server.ktls_error() + ")"));
    if (!c.server.ktls_send() && !tlstest::kernel_tls_listed())
      CHECK(c.server.ktls_error().find("TCP_ULP tls") != std::string::npos);
    c.out.buffer() += "HTTP/1.1 200 OK\r\n\r\n";
    c.out.append_file(std::make_shared<file_body>(path, 0, -1));
    c.out.buffer() += "between;";
    c.out.append_file(std::make_shared<file_body>(path, 7, 70000));
    auto expected = "HTTP/1.1 200 OK\r\n\r\n" + content + "between;" +
                    content.substr(7, 70000);
    int blocked = 0;
    auto got = c.deliver(6000, blocked);
    CHECK(c.out.empty());
    CHECK(got.size() == expected.size());
    CHECK((got == expected));
    CHECK(blocked > 0);
    // The file shrinking under the send fails it on both paths.
    c.out.append_file(std::make_shared<file_body>(path, 0, -1));
    REQUIRE(::truncate(path.c_str(), 100) == 0);
    output_queue::result r = output_queue::result::blocked;
    for (int i = 0; i < 1000 && r == output_queue::result::blocked; ++i) {
      r = c.out.flush(c.server);
      std::string piece;
      REQUIRE(c.client.read(piece) >= 0);
    }
    CHECK(r == output_queue::result::failed);
    ::signal(SIGPIPE, old);
  }
}
