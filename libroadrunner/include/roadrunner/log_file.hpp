#pragma once

// An append-only log file fed from many threads without blocking them: each
// thread appends to a buffer of its own, and one writer thread hands the
// buffers to the file. The access log and the error log write through it.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>

namespace roadrunner {

namespace detail {
class log_file_impl; // log_file.cpp
} // namespace detail

/// Where and how a `log_file` writes.
struct log_file_options {
  /// The file, opened for appending (created 0644 if missing); "-" is
  /// standard error.
  std::string path = "-";
  /// Bytes each thread may have waiting for the writer; a line that does
  /// not fit is dropped and counted (`dropped()`), so a stalled disk costs
  /// lines, never a blocked reactor.
  size_t max_buffered_bytes = 1 << 20;
  /// How long a line may wait before the writer takes it (the writer also
  /// wakes early when a buffer is half full).
  std::chrono::milliseconds flush_interval{100};
};

/// A log file with per-thread buffers and a writer thread. Thread-safe.
/// `append` never does I/O: it takes the calling thread's buffer lock
/// (contended only for the instant the writer swaps the buffer out) and
/// formats into the buffer.
class log_file {
public:
  /// Opens the file and starts the writer; on failure returns null and sets
  /// `error` to "PATH: reason".
  static std::shared_ptr<log_file> open(log_file_options opts,
                                        std::string& error);

  ~log_file();

  log_file(const log_file&) = delete;
  log_file& operator=(const log_file&) = delete;

  /// Appends what `format(std::string&)` appends to the buffer it is given
  /// (complete lines, each ending in '\n'), formatting in place: no copy, no
  /// allocation once the buffer has grown. Returns false, and counts a drop,
  /// when the calling thread's buffer is full. `format` must not throw and
  /// must not append to this log_file itself.
  template <class F>
  bool append_with(F&& format) {
    using fn_type = std::remove_reference_t<F>;
    return append_raw(
      [](std::string& out, void* ctx) { (*static_cast<fn_type*>(ctx))(out); },
      const_cast<void*>(static_cast<const void*>(&format)));
  }

  /// Appends one line as is (it must end in '\n').
  bool append(std::string_view line);

  /// Lines dropped: appends refused because a buffer was full, plus the
  /// lines of batches the file refused (ENOSPC, EIO).
  uint64_t dropped() const noexcept;

  /// Reopens the file by its path at the writer's next round (after
  /// logrotate moved it; SIGUSR1). Safe to call from any thread (not from
  /// an asynchronous signal handler: use a thread that sigwaits). If the
  /// path cannot be opened the old file stays in use. No-op for "-".
  void reopen() noexcept;

  /// Blocks until everything appended before the call is written (or the
  /// write failed). Never call it from a reactor thread.
  void flush();

  /// The path as given.
  const std::string& path() const noexcept;

private:
  bool append_raw(void (*fn)(std::string&, void*), void* ctx);
  explicit log_file(std::unique_ptr<detail::log_file_impl> impl);
  std::unique_ptr<detail::log_file_impl> impl_;
};

/// How sinks share a log file (the writer stops with the last owner, after
/// writing what is left).
using log_file_ptr = std::shared_ptr<log_file>;

} // namespace roadrunner
