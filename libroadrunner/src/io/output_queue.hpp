#pragma once

#include <roadrunner/file_body.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace roadrunner::tls {
class session;
} // namespace roadrunner::tls

namespace roadrunner::io {

/// Bytes waiting to be written to one socket, written with as few system
/// calls as possible. Small pieces (response heads, small bodies) are
/// appended to an open buffer; large bodies are queued as their own segment
/// without a copy; file bodies are sent with `sendfile(2)` (zero copy).
/// Runs on: the owning connection's thread.
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
    return segments_.back().bytes;
  }

  /// Appends `body`, moving it when large.
  void append_body(std::string&& body);

  /// Appends a file range, sent later with sendfile.
  void append_file(file_body_ptr file);

  /// Drops the open buffer again when nothing was appended to it (for a
  /// producer that appends straight into `buffer()` and may have had
  /// nothing to give), so `empty()` stays exact.
  void drop_empty_tail() noexcept;

  /// True when nothing is pending.
  bool empty() const noexcept { return segments_.empty(); }

  /// Bytes not yet written.
  size_t pending() const noexcept;

  /// Writes as much as the socket takes.
  result flush(int fd);

  /// Writes as much as the TLS session takes (the plain `flush(fd)` is
  /// untouched by this path). Byte segments are gathered and coalesced into
  /// records of up to 16 KiB; a file range is read with `pread` in chunks of
  /// at most 16 KiB into a per-thread buffer and encrypted. When the kernel
  /// encrypts (`session.ktls_send()`, kTLS), bytes go to the socket as they
  /// are and a file range with `SSL_sendfile` (zero copy). `blocked` means
  /// the session wants the socket writable (in theory readable); call again
  /// then — the queue's front is unchanged, which is what OpenSSL's retry
  /// rule needs. `failed`: see `session::error()` (or errno for `pread`).
  result flush(tls::session& session);

  /// Drops everything pending and frees memory.
  void clear() noexcept;

  /// When nothing is pending, frees recycled buffers over `max_keep` bytes.
  void trim(size_t max_keep) noexcept {
    if (segments_.empty() && spare_.capacity() > max_keep)
      std::string{}.swap(spare_); // `= std::string{}` would keep the buffer
  }

  /// When nothing is pending, gives the recycled buffer and the segment
  /// list's storage to a pool of the calling thread (bounded), from which
  /// the next queue of that thread to write takes them: an idle
  /// connection's queue then owns no heap memory. No-op otherwise.
  void release_spare() noexcept;

private:
  struct segment {
    std::string bytes;  // used when file is null
    file_body_ptr file; // a file range otherwise
    uint64_t file_pos = 0;
    uint64_t file_left = 0;

    size_t size() const noexcept {
      return file ? static_cast<size_t>(file_left) : bytes.size();
    }
  };

  struct storage_pool;
  static storage_pool& pool();
  segment& new_segment(); // appended, with pooled storage if we have none
  void open_segment();
  result flush_file(int fd);
  void consume(size_t n) noexcept;    // n bytes were written (TLS path)
  void drop_front(size_t n) noexcept; // the first n segments were written

  std::vector<segment> segments_;
  size_t offset_ = 0; // bytes of segments_[0] already written (byte segments)
  bool open_ = false; // the last segment accepts appends
  std::string spare_; // a recycled buffer to avoid reallocations
};

} // namespace roadrunner::io
