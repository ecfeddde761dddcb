// io::body_store (issue 18 item 5): memory sized to an announced body at
// once, bounded steps for a body of unknown size, the listener's budget,
// spooling past it, and the failures that end in 503 (no spool directory,
// an unusable one, a mapping that fails).

#include "io/body_store.hpp"

#include <doctest/doctest.h>

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <stdexcept>
#include <string>

using roadrunner::io::body_budget;
using roadrunner::io::body_policy;
using roadrunner::io::body_store;
using result = body_store::result;

namespace {

struct spool_dir {
  std::string path;
  spool_dir() {
    char tmpl[] = "/tmp/rr-body-store-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr)
      throw std::runtime_error("mkdtemp failed");
    path = tmpl;
  }
  spool_dir(const spool_dir&) = delete;
  spool_dir& operator=(const spool_dir&) = delete;
  ~spool_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>(i * 131 + i / 4096);
  return s;
}

void* failing_map(void*, size_t, int, int, int, off_t) {
  errno = ENOMEM;
  return MAP_FAILED;
}

} // namespace

TEST_SUITE("unit.body_store") {
  TEST_CASE("an announced size is set aside at once and charged exactly") {
    body_budget budget{64 << 20};
    body_policy policy{&budget, ""};
    auto data = pattern(10000000);
    body_store b;
    b.start(&policy, data.size());
    REQUIRE(b.reserve() == result::ok);
    CHECK(b.capacity() == data.size());
    CHECK(budget.used() == static_cast<int64_t>(data.size()));
    for (size_t at = 0; at < data.size(); at += 65536)
      REQUIRE(
        b.append(data.data() + at, std::min<size_t>(65536, data.size() - at)) ==
        result::ok);
    CHECK(b.capacity() == data.size()); // never grown past it
    CHECK_FALSE(b.spooled());
    auto v = b.view();
    REQUIRE(v);
    CHECK(*v == data);
    b.clear();
    CHECK(budget.used() == 0);
  }

  TEST_CASE("an unknown size grows in steps of at most 1 MiB, never past "
            "the most it may have") {
    body_budget budget{64 << 20};
    body_policy policy{&budget, ""};
    auto data = pattern(5000000);
    body_store b;
    b.start(&policy, 5500000);
    size_t last_cap = 0;
    for (size_t at = 0; at < data.size(); at += 10000) {
      REQUIRE(
        b.append(data.data() + at, std::min<size_t>(10000, data.size() - at)) ==
        result::ok);
      // What the budget was charged: the capacity, at most a step ahead.
      CHECK(budget.used() == static_cast<int64_t>(b.capacity()));
      CHECK(b.capacity() <= b.size() + (1 << 20));
      CHECK(b.capacity() >= last_cap);
      last_cap = b.capacity();
    }
    CHECK(b.capacity() <= 5500000);
    auto v = b.view();
    REQUIRE(v);
    CHECK(*v == data);
    // Moved: the same bytes, at the same address, charged once.
    auto* at = v->data();
    body_store c{std::move(b)};
    CHECK(b.size() == 0);
    auto w = c.view();
    REQUIRE(w);
    CHECK(w->data() == at);
    CHECK(*w == data);
    b.clear();
    CHECK(budget.used() == static_cast<int64_t>(c.capacity()));
    c.clear();
    CHECK(budget.used() == 0);
  }

  TEST_CASE("past the budget the body spools to an unnamed file, whole") {
    spool_dir dir;
    body_budget budget{1 << 20};
    body_policy policy{&budget, dir.path};
    auto data = pattern(3000000);
    body_store b;
    b.start(&policy, 10485760);
    for (size_t at = 0; at < data.size(); at += 100000)
      REQUIRE(b.append(data.data() + at, 100000) == result::ok);
    CHECK(b.spooled());
    CHECK(budget.used() == 0); // the memory went back with the spooling
    CHECK(std::filesystem::is_empty(dir.path)); // O_TMPFILE: no name
    auto v = b.view();
    REQUIRE(v);
    CHECK(*v == data);
    // Pieces from the mapping, then from the file once it is unmapped.
    std::string piece;
    auto p = b.read_at(2999990, 100, piece);
    REQUIRE(p);
    CHECK(*p == data.substr(2999990));
    b.unmap();
    p = b.read_at(12345, 16384, piece);
    REQUIRE(p);
    CHECK(*p == data.substr(12345, 16384));
    CHECK(p->data() == piece.data()); // read into the piece buffer
    p = b.read_at(data.size(), 10, piece);
    REQUIRE(p);
    CHECK(p->empty());
  }

  TEST_CASE("an announced size over the budget spools from the start") {
    spool_dir dir;
    body_budget budget{1 << 20};
    body_policy policy{&budget, dir.path};
    body_store b;
    b.start(&policy, 2 << 20);
    REQUIRE(b.reserve() == result::ok);
    CHECK(b.spooled());
    CHECK(budget.used() == 0);
  }

  TEST_CASE("no spool directory, or one that is gone: no_room (503)") {
    body_budget budget{4096};
    auto data = pattern(100000);
    SUBCASE("none") {
      body_policy policy{&budget, ""};
      body_store b;
      b.start(&policy, data.size());
      CHECK(b.reserve() == result::no_room);
      body_store c;
      c.start(&policy, 10485760);
      CHECK(c.append(data.data(), data.size()) == result::no_room);
    }
    SUBCASE("removed after start") {
      std::string gone;
      {
        spool_dir dir;
        gone = dir.path;
      }
      body_policy policy{&budget, gone};
      body_store b;
      b.start(&policy, 10485760);
      CHECK(b.append(data.data(), data.size()) == result::no_room);
      CHECK_FALSE(b.spooled());
    }
    CHECK(budget.used() == 0);
  }

  TEST_CASE("a spooled body whose mapping fails has no view; its pieces "
            "still read from the file") {
    spool_dir dir;
    body_budget budget{0};
    body_policy policy{&budget, dir.path};
    auto data = pattern(200000);
    body_store b;
    b.start(&policy, data.size());
    REQUIRE(b.reserve() == result::ok);
    REQUIRE(b.append(data.data(), data.size()) == result::ok);
    body_store::set_map_for_testing(failing_map);
    auto v = b.view();
    body_store::set_map_for_testing(nullptr);
    CHECK_FALSE(v);
    std::string piece;
    auto p = b.read_at(100, 1000, piece);
    REQUIRE(p);
    CHECK(*p == data.substr(100, 1000));
    v = b.view();
    REQUIRE(v);
    CHECK(*v == data);
  }
}
