#pragma once

// Request bodies under a listener-wide memory budget (issue 18 item 5): a
// body is buffered in memory, grown towards the size it announced (never
// doubled past it), while the listener's budget has room; past the budget
// it moves to a temporary file (O_TMPFILE: never visible in the
// directory, gone when closed), which the handler sees through a read-only
// mapping, the same `string_view` as a buffered body.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace roadrunner::io {

/// Request body bytes held in memory by one listener, against
/// `listener_options::body_memory_budget`. Shared by every connection of
/// the listener, on every reactor (atomic).
class body_budget {
public:
  explicit body_budget(int64_t limit) noexcept : limit_(limit) {}

  /// Takes `n` bytes of the budget; false (nothing taken) when they do not
  /// fit.
  bool take(size_t n) noexcept;

  /// Gives back `n` bytes taken before.
  void give(size_t n) noexcept {
    used_.fetch_sub(static_cast<int64_t>(n), std::memory_order_relaxed);
  }

  int64_t used() const noexcept {
    return used_.load(std::memory_order_relaxed);
  }
  int64_t limit() const noexcept { return limit_; }

private:
  std::atomic<int64_t> used_{0};
  int64_t limit_;
};

/// Where spooled bodies go and what they may cost; `budget` null: no
/// budget (bodies stay in memory, as before issue 18).
struct body_policy {
  body_budget* budget = nullptr;
  /// Directory for temporary files; empty: no spooling (`no_room` instead).
  std::string spool_dir;
};

/// One request body: in memory, charged to the budget, or in a temporary
/// file. Runs on: the connection's thread.
class body_store {
public:
  enum class result : uint8_t {
    ok,
    /// Over the budget and spooling is off (or the temporary file could
    /// not be made or written): the request gets 503.
    no_room,
  };

  body_store() = default;
  ~body_store() { clear(); }

  body_store(const body_store&) = delete;
  body_store& operator=(const body_store&) = delete;

  /// Starts a body: `expected` is the size it announced (content-length)
  /// or the most it may have (max_content_length); memory grows towards it
  /// and never past it.
  void start(const body_policy* policy, uint64_t expected) noexcept {
    policy_ = policy;
    expected_ = expected;
  }

  /// Appends received bytes.
  result append(const char* data, size_t n);

  /// The whole body: buffered bytes, or the temporary file mapped read-only
  /// (valid until `clear`). Empty when the mapping fails (never for a body
  /// that `append` took).
  std::string_view view();

  size_t size() const noexcept { return size_; }
  bool spooled() const noexcept { return fd_ >= 0; }

  /// Frees the body (memory, budget, file, mapping). A buffer up to
  /// `keep_capacity` bytes stays for the next body (not charged).
  void clear(size_t keep_capacity = 0) noexcept;

private:
  result spool(const char* data, size_t n);
  bool write_all(const char* data, size_t n) noexcept;

  const body_policy* policy_ = nullptr;
  uint64_t expected_ = 0;
  // The memory buffer: malloc/realloc by hand, because std::string's
  // reserve doubles anyway (libstdc++), past the announced size.
  char* buf_ = nullptr;
  size_t cap_ = 0;
  size_t charged_ = 0; // budget bytes taken for buf_'s capacity
  size_t size_ = 0;
  int fd_ = -1;
  void* map_ = nullptr;
  size_t map_len_ = 0;
};

} // namespace roadrunner::io
