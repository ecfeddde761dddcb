#include "operators.hpp"
#include <roadrunner/log_file.hpp>

#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

std::string temp_path() {
  char path[] = "/tmp/rr-logfile-XXXXXX";
  int fd = ::mkstemp(path);
  if (fd < 0)
    throw std::runtime_error("mkstemp failed");
  ::close(fd);
  return path;
}

std::string slurp(const std::string& path) {
  auto [code, text] = rrtest::run({"cat", path});
  return text;
}

size_t lines(const std::string& text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

} // namespace

TEST_SUITE("log_file") {

  TEST_CASE("lines from many threads all arrive, whole, after flush") {
    auto path = temp_path();
    std::string err;
    auto file = roadrunner::log_file::open({.path = path}, err);
    REQUIRE(file);
    constexpr int threads = 4;
    constexpr int per_thread = 5000;
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t)
      ts.emplace_back([&, t] {
        for (int i = 0; i < per_thread; ++i)
          file->append_with([&](std::string& out) {
            out += "thread " + std::to_string(t) + " line " +
                   std::to_string(i) + "\n";
          });
      });
    for (auto& t : ts)
      t.join();
    file->flush();
    auto text = slurp(path);
    ::unlink(path.c_str());
    CHECK(file->dropped() == 0);
    CHECK(lines(text) == threads * per_thread);
    // Every line is whole and unique (no interleaving inside a line).
    std::set<std::string> seen;
    size_t pos = 0;
    while (pos < text.size()) {
      auto eol = text.find('\n', pos);
      auto l = text.substr(pos, eol - pos);
      CHECK(l.rfind("thread ", 0) == 0);
      seen.insert(l);
      pos = eol + 1;
    }
    CHECK(seen.size() == threads * per_thread);
  }

  TEST_CASE("a half-full buffer wakes the writer before the flush interval") {
    // The interval is far beyond the deadline below: only the half-full
    // wake-up can bring the lines to the file in time.
    auto path = temp_path();
    std::string err;
    auto file = roadrunner::log_file::open(
      {.path = path, .max_buffered_bytes = 4096, .flush_interval = 60s}, err);
    REQUIRE(file);
    std::string line(99, 'x');
    line += '\n';
    for (int i = 0; i < 21; ++i) // 2100 bytes: past half of 4096
      REQUIRE(file->append(line));
    auto deadline = std::chrono::steady_clock::now() + 10s;
    size_t seen = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      seen = lines(slurp(path));
      if (seen == 21)
        break;
      std::this_thread::yield();
    }
    ::unlink(path.c_str());
    CHECK(seen == 21);
    CHECK(file->dropped() == 0);
  }

  TEST_CASE("a stalled file costs lines, counted, never a blocked caller") {
    // The "disk": a pipe nobody reads, so the writer thread blocks in
    // write(2) once the pipe is full.
    int p[2];
    REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
    std::string err;
    auto file = roadrunner::log_file::open(
      {.path = "/proc/self/fd/" + std::to_string(p[1]),
       .max_buffered_bytes = 16384,
       .flush_interval = 1ms},
      err);
    REQUIRE(file);
    ::close(p[1]); // the log has its own descriptor for the pipe
    const std::string line(99, 'x');
    uint64_t appended = 0;
    uint64_t refused = 0;
    // Bounded: pipe (64 KiB) + buffer (16 KiB) are far below 100000 lines.
    for (int i = 0; i < 100000 && file->dropped() < 100; ++i) {
      if (file->append(line + "\n"))
        ++appended;
      else
        ++refused;
    }
    CHECK(file->dropped() >= 100);
    CHECK(refused == file->dropped());
    // Read the pipe dry in the background; flush then completes and every
    // accepted line arrives.
    std::string got;
    std::thread reader{[&] {
      char buf[65536];
      for (;;) {
        auto n = ::read(p[0], buf, sizeof(buf));
        if (n <= 0)
          return;
        got.append(buf, static_cast<size_t>(n));
      }
    }};
    file->flush();
    file.reset(); // closes the write end: the reader sees EOF
    reader.join();
    ::close(p[0]);
    CHECK(lines(got) == appended);
  }

  TEST_CASE("reopen moves to a new file at the same path (logrotate)") {
    auto path = temp_path();
    std::string err;
    auto file = roadrunner::log_file::open({.path = path}, err);
    REQUIRE(file);
    file->append("before\n");
    file->flush();
    auto rotated = path + ".1";
    REQUIRE(::rename(path.c_str(), rotated.c_str()) == 0);
    file->append("still old\n"); // not reopened yet: goes to the moved file
    file->flush();
    file->reopen();
    file->append("after\n");
    file->flush();
    CHECK(slurp(rotated) == "before\nstill old\n");
    CHECK(slurp(path) == "after\n");
    ::unlink(path.c_str());
    ::unlink(rotated.c_str());
  }

  TEST_CASE("lines a full disk refuses count as dropped") {
    std::string err;
    auto file = roadrunner::log_file::open({.path = "/dev/full"}, err);
    REQUIRE(file);
    for (int i = 0; i < 10; ++i)
      CHECK(file->append("line\n")); // accepted into the buffer
    file->flush();
    CHECK(file->dropped() == 10);
  }

  TEST_CASE("a path that cannot be opened is an error naming it") {
    std::string err;
    auto file =
      roadrunner::log_file::open({.path = "/nonexistent/dir/x.log"}, err);
    CHECK_FALSE(file);
    CHECK(err == "/nonexistent/dir/x.log: No such file or directory");
    CHECK_FALSE(roadrunner::log_file::open({.path = ""}, err));
  }
}
