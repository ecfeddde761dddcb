#include "io/output_queue.hpp"

#include "free_string.hpp"

#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <stdlib.h>
#include <string>

using roadrunner::io::output_queue;

namespace {

struct socket_pair {
  int writer = -1;
  int reader = -1;
  socket_pair() {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds) == 0);
    writer = fds[0];
    reader = fds[1];
    int small = 4096;
    ::setsockopt(writer, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
  }
  ~socket_pair() {
    ::close(writer);
    ::close(reader);
  }
  std::string drain() {
    std::string out;
    char buf[65536];
    for (;;) {
      auto n = ::read(reader, buf, sizeof(buf));
      if (n <= 0)
        return out;
      out.append(buf, static_cast<size_t>(n));
    }
  }
};

} // namespace

TEST_SUITE("io.output_queue") {

  TEST_CASE("free_string gives a large buffer back") {
    // `s = std::string{}` would pass CHECK(s.empty()) but keep the 100 kB
    // (libstdc++ copies a short source into the existing buffer).
    std::string s(100000, 'x');
    roadrunner::detail::free_string(s);
    CHECK(s.empty());
    CHECK(s.capacity() == std::string{}.capacity());
  }

  TEST_CASE("small pieces and large bodies leave in order") {
    socket_pair sp;
    output_queue q;
    q.buffer() += "head1;";
    q.append_body(std::string(10, 'a'));
    q.buffer() += "head2;";
    q.append_body(std::string(5000, 'b'));
    q.buffer() += "head3;";
    auto expected = "head1;" + std::string(10, 'a') + "head2;" +
                    std::string(5000, 'b') + "head3;";
    CHECK(q.pending() == expected.size());
    CHECK(q.flush(sp.writer) == output_queue::result::done);
    CHECK(q.empty());
    CHECK(sp.drain() == expected);
  }

  TEST_CASE("release_spare: an idle queue lends its buffers to the next") {
    socket_pair sp;
    output_queue a;
    a.buffer() += std::string(300, 'h');
    CHECK(a.flush(sp.writer) == output_queue::result::done);
    a.release_spare();
    // The pool is per thread and last in, first out: b writes with a's
    // buffer (no allocation), a keeps working with a new one.
    output_queue b;
    CHECK(b.buffer().capacity() >= 300);
    b.buffer() += "b;";
    a.buffer() += "a;";
    CHECK(b.flush(sp.writer) == output_queue::result::done);
    CHECK(a.flush(sp.writer) == output_queue::result::done);
    CHECK(sp.drain() == std::string(300, 'h') + "b;a;");
  }

  TEST_CASE("release_spare keeps pending output") {
    socket_pair sp;
    output_queue q;
    q.buffer() += "head;";
    q.append_body(std::string(5000, 'b'));
    q.release_spare();
    CHECK(q.pending() == 5005);
    CHECK(q.flush(sp.writer) == output_queue::result::done);
    CHECK(sp.drain() == "head;" + std::string(5000, 'b'));
  }

  TEST_CASE("drop_empty_tail undoes an open buffer nothing was appended to") {
    socket_pair sp;
    output_queue q;
    q.buffer(); // a producer that had nothing to give (HTTP/2 take_output)
    CHECK_FALSE(q.empty());
    q.drop_empty_tail();
    CHECK(q.empty());
    // A buffer with bytes, or an empty one behind a body, is kept in order.
    q.append_body(std::string(5000, 'b'));
    q.buffer();
    q.drop_empty_tail();
    q.buffer() += "tail";
    q.drop_empty_tail();
    CHECK(q.pending() == 5004);
    CHECK(q.flush(sp.writer) == output_queue::result::done);
    CHECK(sp.drain() == std::string(5000, 'b') + "tail");
    CHECK(q.empty());
  }

  TEST_CASE("a full send buffer blocks, and the rest follows after a drain") {
    socket_pair sp;
    output_queue q;
    std::string expected;
    for (int i = 0; i < 40; ++i) {
      auto body = std::string(8192, static_cast<char>('a' + i % 26));
      q.buffer().append("h").append(std::to_string(i));
      expected.append("h").append(std::to_string(i)).append(body);
      q.append_body(std::move(body));
    }
    std::string got;
    int rounds = 0;
    output_queue::result r;
    while ((r = q.flush(sp.writer)) == output_queue::result::blocked) {
      REQUIRE(++rounds < 10000);
      got += sp.drain();
    }
    CHECK(r == output_queue::result::done);
    CHECK(rounds > 0); // 320 KiB cannot fit a 4 KiB send buffer at once
    got += sp.drain();
    CHECK(got == expected);
    CHECK(q.pending() == 0);
  }

  TEST_CASE("a write to a closed peer fails") {
    socket_pair sp;
    ::close(sp.reader);
    sp.reader = ::open("/dev/null", O_RDONLY);
    output_queue q;
    q.buffer() += "x";
    CHECK(q.flush(sp.writer) == output_queue::result::failed);
  }

  TEST_CASE("file ranges go out with sendfile, in order with bytes") {
    char path[] = "/tmp/rr-oq-XXXXXX";
    int tmp = ::mkstemp(path);
    REQUIRE(tmp >= 0);
    std::string content;
    for (int i = 0; content.size() < 300000; ++i)
      content += std::to_string(i) + ";";
    REQUIRE(::write(tmp, content.data(), content.size()) ==
            static_cast<ssize_t>(content.size()));
    ::close(tmp);
    auto file = std::make_shared<roadrunner::file_body>(path, 1000, 250000);
    ::unlink(path);
    REQUIRE(file->error() == 0);
    socket_pair sp;
    output_queue q;
    q.buffer() += "head;";
    q.append_file(file);
    q.buffer() += ";tail";
    std::string got;
    int rounds = 0;
    output_queue::result r;
    while ((r = q.flush(sp.writer)) == output_queue::result::blocked) {
      REQUIRE(++rounds < 100000);
      got += sp.drain();
    }
    CHECK(r == output_queue::result::done);
    got += sp.drain();
    CHECK(got == "head;" + content.substr(1000, 250000) + ";tail");
  }

  TEST_CASE("file_body reports missing files and bad ranges") {
    CHECK(roadrunner::file_body("/nonexistent/x", 0, -1).error() == 404);
    CHECK(roadrunner::file_body("/tmp", 0, -1).error() == 404); // a directory
    char path[] = "/tmp/rr-oq-XXXXXX";
    int tmp = ::mkstemp(path);
    REQUIRE(::write(tmp, "0123456789", 10) == 10);
    ::close(tmp);
    CHECK(roadrunner::file_body(path, 11, -1).error() == 416);
    CHECK(roadrunner::file_body(path, 5, 6).error() == 416);
    roadrunner::file_body ok{path, 5, 5};
    CHECK(ok.error() == 0);
    CHECK(ok.length() == 5);
    roadrunner::file_body rest{path, 3, -1};
    CHECK(rest.length() == 7);
    ::unlink(path);
  }

} // TEST_SUITE
