#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace roadrunner::io {

/// Bytes waiting to be written to one socket, written with as few `writev`
/// calls as possible. Small pieces (response heads, small bodies) are
/// appended to an open buffer; large bodies are queued as their own segment
/// without a copy. Runs on: the owning connection's thread.
class output_queue {
public:
  /// Outcome of `flush`.
  enum class result {
    /// Everything was written.
    done,
    /// The socket's send buffer is full; wait for writability.
    blocked,
    /// The write failed (errno is set); the connection must close.
    failed,
  };

  /// Bodies of at least this many bytes are queued without copying.
  static constexpr size_t zero_copy_threshold = 4096;

  /// The open buffer to append small pieces to.
  std::string& buffer() {
    if (segments_.empty() || !open_)
      open_segment();
    return segments_.back();
  }

  /// Appends `body`, moving it when large.
  void append_body(std::string&& body);

  /// True when nothing is pending.
  bool empty() const noexcept { return segments_.empty(); }

  /// Bytes not yet written.
  size_t pending() const noexcept;

  /// Writes as much as the socket takes.
  result flush(int fd);

  /// Drops everything pending and frees memory.
  void clear() noexcept;

  /// When nothing is pending, frees recycled buffers over `max_keep` bytes.
  void trim(size_t max_keep) noexcept {
    if (segments_.empty() && spare_.capacity() > max_keep)
      spare_ = std::string{};
  }

private:
  void open_segment();

  std::vector<std::string> segments_;
  size_t offset_ = 0; // bytes of segments_[0] already written
  bool open_ = false; // the last segment accepts appends
  std::string spare_; // a recycled buffer to avoid reallocations
};

} // namespace roadrunner::io
