#pragma once

// Request bodies under a listener-wide memory budget (issue 18 item 5): a
// body is buffered in memory while the listener's budget has room — sized
// to what it announced at once (content-length), else grown in bounded
// steps, never doubled past it and never copied while it grows (large
// buffers are anonymous mappings that mremap grows in place or moves by
// page tables) — and past the budget it moves to a temporary file
// (O_TMPFILE: never visible in the directory, gone when closed), which the
// handler sees through a read-only mapping, the same `string_view` as a
// buffered body. HTTP/1.1 and HTTP/2 share it.

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
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
/// file. Movable (a deferred HTTP/2 handler in manual body mode takes it
/// over): the buffer, file and mapping move along, so views stay valid.
/// Runs on: the connection's thread.
class body_store {
public:
  enum class result : uint8_t {
    ok,
    /// Over the budget and spooling is off (or the temporary file could
    /// not be made or written): the request gets 503.
    no_room,
  };

  /// The mmap(2) a spooled body is mapped with; tests replace it to make
  /// the mapping fail (`set_map_for_testing`).
  using map_function = void* (*)(void*, size_t, int, int, int, off_t);

  body_store() = default;
  ~body_store() { clear(); }

  body_store(const body_store&) = delete;
  body_store& operator=(const body_store&) = delete;
  body_store(body_store&& other) noexcept { take_from(other); }
  body_store& operator=(body_store&& other) noexcept {
    if (this != &other) {
      clear();
      take_from(other);
    }
    return *this;
  }

  /// Starts a body: `expected` is the size it announced (content-length)
  /// or the most it may have (max_content_length); memory grows towards it
  /// and never past it.
  void start(const body_policy* policy, uint64_t expected) noexcept {
    policy_ = policy;
    expected_ = expected;
  }

  /// For a body whose size is announced: takes the budget for all of it
  /// and sets the memory aside at once (pages are only touched as bytes
  /// arrive), or goes straight to a temporary file when the budget has no
  /// room. `no_room`: over the budget and no spooling (answer 503 before
  /// the body is sent: 100 Continue is not due).
  result reserve();

  /// Appends received bytes.
  result append(const char* data, size_t n);

  /// The whole body: buffered bytes, or the temporary file mapped read-only
  /// (valid until `clear` or `unmap`). nullopt when a spooled body cannot
  /// be mapped (the request gets 503).
  std::optional<std::string_view> view();

  /// Up to `max` bytes from `pos`: a view of the buffer or of the mapping
  /// when there is one, else read from the file into `piece` (a spooled
  /// body is never brought back into memory whole). nullopt on a read
  /// error.
  std::optional<std::string_view> read_at(uint64_t pos, size_t max,
                                          std::string& piece);

  /// Drops the mapping of a spooled body (`read_at` reads the file then).
  void unmap() noexcept;

  size_t size() const noexcept { return size_; }
  bool spooled() const noexcept { return fd_ >= 0; }
  /// Memory set aside for the body (what the budget was charged, when
  /// there is one).
  size_t capacity() const noexcept { return cap_; }

  /// Frees the body (memory, budget, file, mapping). A heap buffer up to
  /// `keep_capacity` bytes stays for the next body (not charged).
  void clear(size_t keep_capacity = 0) noexcept {
    // The common case inline: nothing was stored (a GET; a stream closed
    // and cleared again), so nothing to free, give back or unmap.
    if (fd_ < 0 && map_ == nullptr && charged_ == 0 && !mapped_buf_ &&
        cap_ <= keep_capacity) {
      size_ = 0;
      expected_ = 0;
      return;
    }
    release(keep_capacity);
  }

  /// Replaces the mmap(2) of spooled bodies (null: the real one). For
  /// tests of the mapping's failure; process-wide.
  static void set_map_for_testing(map_function f) noexcept;

private:
  void release(size_t keep_capacity) noexcept;
  result grow(size_t target, const char* data, size_t n);
  bool resize(size_t target) noexcept;
  void free_buffer() noexcept;
  void give_back() noexcept;
  result spool(const char* data, size_t n);
  bool write_all(const char* data, size_t n) noexcept;
  void take_from(body_store& other) noexcept;

  const body_policy* policy_ = nullptr;
  uint64_t expected_ = 0;
  // The memory buffer: malloc/realloc while small; an anonymous mapping
  // (mremap) from `map_threshold` on, so growing never copies (no moment
  // with the old and the new buffer both resident).
  char* buf_ = nullptr;
  size_t cap_ = 0;
  bool mapped_buf_ = false; // buf_ is an anonymous mapping
  size_t charged_ = 0;      // budget bytes taken for buf_'s capacity
  size_t size_ = 0;
  int fd_ = -1;
  void* map_ = nullptr;
  size_t map_len_ = 0;
};

} // namespace roadrunner::io
