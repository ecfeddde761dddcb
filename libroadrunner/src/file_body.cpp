#include <roadrunner/file_body.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace roadrunner {

file_body::file_body(const std::string& path, uint64_t offset, int64_t length) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    error_ = errno == ENOENT || errno == ENOTDIR ? 404
             : errno == EACCES                   ? 403
                                                 : 500;
    return;
  }
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
    error_ = 404;
    return;
  }
  auto size = static_cast<uint64_t>(st.st_size);
  if (offset > size ||
      (length >= 0 && static_cast<uint64_t>(length) > size - offset)) {
    error_ = 416;
    return;
  }
  offset_ = offset;
  length_ = length >= 0 ? static_cast<uint64_t>(length) : size - offset;
}

file_body::~file_body() {
  if (fd_ >= 0)
    ::close(fd_);
}

} // namespace roadrunner
