#include "io/body_store.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace roadrunner::io {

namespace {

/// The first allocation of a body without a known size.
constexpr size_t min_capacity = 16384;

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
    // Double, but never past what the body announced (or may have): a
    // 9.9 MB body costs 9.9 MB, not 16 (issue 18).
    auto doubled = std::max(2 * cap_, min_capacity);
    auto target = std::max(
      need, static_cast<size_t>(std::min<uint64_t>(doubled, expected_)));
    auto* budget = policy_ != nullptr ? policy_->budget : nullptr;
    if (budget != nullptr && target > charged_) {
      if (!budget->take(target - charged_))
        return spool(data, n);
      charged_ = target;
    }
    auto* p = static_cast<char*>(std::realloc(buf_, target));
    if (p == nullptr)
      return spool(data, n);
    buf_ = p;
    cap_ = target;
  }
  std::memcpy(buf_ + size_, data, n);
  size_ = need;
  return result::ok;
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
  std::free(buf_);
  buf_ = nullptr;
  cap_ = 0;
  if (charged_ > 0 && policy_->budget != nullptr)
    policy_->budget->give(charged_);
  charged_ = 0;
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

std::string_view body_store::view() {
  if (fd_ < 0)
    return {buf_, size_};
  if (size_ == 0)
    return {};
  if (map_ == nullptr) {
    auto* m = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd_, 0);
    if (m == MAP_FAILED)
      return {};
    map_ = m;
    map_len_ = size_;
  }
  return {static_cast<const char*>(map_), size_};
}

void body_store::clear(size_t keep_capacity) noexcept {
  if (map_ != nullptr)
    ::munmap(map_, map_len_);
  map_ = nullptr;
  map_len_ = 0;
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = -1;
  if (charged_ > 0 && policy_ != nullptr && policy_->budget != nullptr)
    policy_->budget->give(charged_);
  charged_ = 0;
  if (cap_ > keep_capacity) {
    std::free(buf_);
    buf_ = nullptr;
    cap_ = 0;
  }
  size_ = 0;
  expected_ = 0;
}

} // namespace roadrunner::io
