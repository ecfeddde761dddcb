#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace roadrunner {

/// An open file range to send as a response body with `sendfile(2)` (zero
/// copy on plain TCP). Owns the descriptor; closes it when the last
/// reference goes away.
class file_body {
public:
  /// Opens `path` read-only and selects [offset, offset + length); a
  /// negative length means "to the end of the file". Check `error()`.
  file_body(const std::string& path, uint64_t offset, int64_t length);
  /// Adopts the open descriptor `fd` (closed by the destructor) and
  /// selects [offset, offset + length), which the caller has checked
  /// against the file's size; `error()` is 0.
  file_body(int fd, uint64_t offset, uint64_t length) noexcept
    : fd_(fd), offset_(offset), length_(length) {}

  ~file_body();

  file_body(const file_body&) = delete;
  file_body& operator=(const file_body&) = delete;

  /// 0 on success; 404 (missing or not a regular file), 403 (no
  /// permission), 416 (range outside the file) or 500 otherwise.
  int error() const noexcept { return error_; }

  /// The open file descriptor (-1 on error).
  int fd() const noexcept { return fd_; }

  /// Offset of the first byte to send.
  uint64_t offset() const noexcept { return offset_; }

  /// Number of bytes to send.
  uint64_t length() const noexcept { return length_; }

private:
  int fd_ = -1;
  uint64_t offset_ = 0;
  uint64_t length_ = 0;
  int error_ = 0;
};

using file_body_ptr = std::shared_ptr<const file_body>;

} // namespace roadrunner
