#include "io/body_store.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace roadrunner::io {

namespace {

/// The first allocation of a body without a known size.
constexpr size_t min_capacity = 16384;

/// From this size on the buffer is an anonymous mapping: mremap grows it
/// without a copy (realloc of a heap block copies, and for that moment the
/// old and the new buffer are both resident: a 10 MB body briefly cost
/// 20 MB, issue 18).
constexpr size_t map_threshold = 65536;

/// The largest step a body of unknown size (chunked, HTTP/2 without
/// content-length) grows by: the budget is charged for at most this much
/// more than the body holds.
constexpr size_t max_step = 1 << 20;

std::atomic<body_store::map_function> map_override{nullptr};

void* map_file(size_t len, int fd) {
  auto f = map_override.load(std::memory_order_relaxed);
  if (f != nullptr)
    return f(nullptr, len, PROT_READ, MAP_PRIVATE, fd, 0);
  return ::mmap(nullptr, len, PROT_READ, MAP_PRIVATE, fd, 0);
}

} // namespace

bool body_budget::take(size_t n) noexcept {
  auto want = static_cast<int64_t>(n);
  auto cur = used_.load(std::memory_order_relaxed);
  do {
    if (cur + want > limit_)
      return false;
  } while (
    !used_.compare_exchange_weak(cur, cur + want, std::memory_order_relaxed));
  return true;
}

void body_store::set_map_for_testing(map_function f) noexcept {
  map_override.store(f, std::memory_order_relaxed);
}

body_store::result body_store::reserve() {
  if (fd_ >= 0 || expected_ <= cap_)
    return result::ok;
  return grow(static_cast<size_t>(expected_), nullptr, 0);
}

body_store::result body_store::append(const char* data, size_t n) {
  if (n == 0)
    return result::ok;
  if (fd_ >= 0) {
    if (!write_all(data, n))
      return result::no_room;
    size_ += n;
    return result::ok;
  }
  auto need = size_ + n;
  if (need > cap_) {
    // Small: double from min_capacity. Large: bounded steps (the budget is
    // charged for capacity). Never past what the body announced (or may
    // have): a 9.9 MB body costs 9.9 MB, not 16.
    size_t step = cap_ < map_threshold ? std::max(2 * cap_, min_capacity)
                                       : cap_ + std::min(cap_, max_step);
    auto target =
      std::max(need, static_cast<size_t>(std::min<uint64_t>(step, expected_)));
    if (grow(target, data, n) == result::no_room)
      return result::no_room;
    if (fd_ >= 0)
      return result::ok; // spooled, `data` included
  }
  std::memcpy(buf_ + size_, data, n);
  size_ = need;
  return result::ok;
}

body_store::result body_store::grow(size_t target, const char* data, size_t n) {
  // Memory for `target` bytes, charged to the budget; else the body goes
  // to a file, with `data` (not yet appended).
  auto* budget = policy_ != nullptr ? policy_->budget : nullptr;
  size_t extra = target > charged_ ? target - charged_ : 0;
  if (budget != nullptr && extra > 0 && !budget->take(extra))
    return spool(data, n);
  if (!resize(target)) {
    if (budget != nullptr)
      budget->give(extra);
    return spool(data, n);
  }
  if (budget != nullptr)
    charged_ += extra;
  return result::ok;
}

bool body_store::resize(size_t target) noexcept {
  if (target < map_threshold) {
    auto* p = static_cast<char*>(std::realloc(buf_, target));
    if (p == nullptr)
      return false;
    buf_ = p;
    cap_ = target;
    return true;
  }
  void* p = nullptr;
  if (mapped_buf_) {
    // Page tables move, bytes do not.
    p = ::mremap(buf_, cap_, target, MREMAP_MAYMOVE);
    if (p == MAP_FAILED)
      return false;
  } else {
    // Untouched pages cost nothing: a body announced at 10 MB is resident
    // only as far as it arrived.
    p = ::mmap(nullptr, target, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
      return false;
    if (size_ > 0)
      std::memcpy(p, buf_, size_); // under map_threshold
    std::free(buf_);
    mapped_buf_ = true;
  }
  buf_ = static_cast<char*>(p);
  cap_ = target;
  return true;
}

void body_store::free_buffer() noexcept {
  if (mapped_buf_)
    ::munmap(buf_, cap_);
  else
    std::free(buf_);
  buf_ = nullptr;
  cap_ = 0;
  mapped_buf_ = false;
}

void body_store::give_back() noexcept {
  if (charged_ > 0 && policy_ != nullptr && policy_->budget != nullptr)
    policy_->budget->give(charged_);
  charged_ = 0;
}

body_store::result body_store::spool(const char* data, size_t n) {
  // Over the budget: the body so far and the rest go to a file that has no
  // name (O_TMPFILE: Linux >= 3.11 on ext4, xfs, tmpfs, btrfs).
  // The writes land in the page cache; the kernel writes them back or
  // drops them, and the file disappears with its descriptor.
  if (policy_ == nullptr || policy_->spool_dir.empty())
    return result::no_room;
  fd_ =
    ::open(policy_->spool_dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd_ < 0)
    return result::no_room;
  if (!write_all(buf_, size_) || !write_all(data, n)) {
    ::close(fd_);
    fd_ = -1;
    return result::no_room;
  }
  free_buffer();
  give_back();
  size_ += n;
  return result::ok;
}

bool body_store::write_all(const char* data, size_t n) noexcept {
  while (n > 0) {
    auto w = ::write(fd_, data, n);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return false;
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

std::optional<std::string_view> body_store::view() {
  if (fd_ < 0)
    return std::string_view{buf_, size_};
  if (size_ == 0)
    return std::string_view{};
  if (map_ == nullptr) {
    auto* m = map_file(size_, fd_);
    if (m == MAP_FAILED)
      return std::nullopt;
    map_ = m;
    map_len_ = size_;
  }
  return std::string_view{static_cast<const char*>(map_), size_};
}

std::optional<std::string_view> body_store::read_at(uint64_t pos, size_t max,
                                                    std::string& piece) {
  if (pos >= size_)
    return std::string_view{};
  auto n = static_cast<size_t>(std::min<uint64_t>(max, size_ - pos));
  if (fd_ < 0)
    return std::string_view{buf_ + pos, n};
  if (map_ != nullptr)
    return std::string_view{static_cast<const char*>(map_) + pos, n};
  piece.resize(n);
  size_t got = 0;
  while (got < n) {
    auto r =
      ::pread(fd_, piece.data() + got, n - got, static_cast<off_t>(pos + got));
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return std::nullopt; // an I/O error, or the file is shorter
    got += static_cast<size_t>(r);
  }
  return std::string_view{piece};
}

void body_store::unmap() noexcept {
  if (map_ != nullptr)
    ::munmap(map_, map_len_);
  map_ = nullptr;
  map_len_ = 0;
}

void body_store::release(size_t keep_capacity) noexcept {
  unmap();
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = -1;
  give_back();
  if (mapped_buf_ || cap_ > keep_capacity)
    free_buffer();
  size_ = 0;
  expected_ = 0;
}

void body_store::take_from(body_store& other) noexcept {
  policy_ = other.policy_;
  expected_ = std::exchange(other.expected_, 0);
  buf_ = std::exchange(other.buf_, nullptr);
  cap_ = std::exchange(other.cap_, 0);
  mapped_buf_ = std::exchange(other.mapped_buf_, false);
  charged_ = std::exchange(other.charged_, 0);
  size_ = std::exchange(other.size_, 0);
  fd_ = std::exchange(other.fd_, -1);
  map_ = std::exchange(other.map_, nullptr);
  map_len_ = std::exchange(other.map_len_, 0);
}

} // namespace roadrunner::io
