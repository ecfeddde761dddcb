#include "io/output_queue.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>

namespace roadrunner::io {

void output_queue::open_segment() {
  segments_.emplace_back(std::move(spare_));
  spare_ = std::string{};
  segments_.back().clear();
  open_ = true;
}

void output_queue::append_body(std::string&& body) {
  if (body.size() < zero_copy_threshold) {
    buffer().append(body);
    return;
  }
  segments_.emplace_back(std::move(body));
  open_ = false;
}

size_t output_queue::pending() const noexcept {
  size_t n = 0;
  for (auto& s : segments_)
    n += s.size();
  return n - offset_;
}

output_queue::result output_queue::flush(int fd) {
  constexpr size_t max_iov = 64;
  while (!segments_.empty()) {
    iovec iov[max_iov];
    size_t n = std::min(segments_.size(), max_iov);
    for (size_t i = 0; i < n; ++i) {
      auto& s = segments_[i];
      size_t skip = i == 0 ? offset_ : 0;
      iov[i].iov_base = s.data() + skip;
      iov[i].iov_len = s.size() - skip;
    }
    // sendmsg = writev with flags: MSG_NOSIGNAL turns a write to a reset
    // peer into EPIPE instead of a process-killing SIGPIPE.
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = n;
    auto written = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (written < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return result::blocked;
      return result::failed;
    }
    auto left = static_cast<size_t>(written);
    size_t done = 0;
    while (done < segments_.size()) {
      auto avail = segments_[done].size() - (done == 0 ? offset_ : 0);
      if (left < avail)
        break;
      left -= avail;
      if (done == 0)
        offset_ = 0;
      ++done;
    }
    if (done > 0) {
      // Keep the biggest written buffer's capacity for the next response.
      for (size_t i = 0; i < done; ++i)
        if (segments_[i].capacity() > spare_.capacity() &&
            segments_[i].capacity() <= 65536)
          spare_ = std::move(segments_[i]);
      segments_.erase(segments_.begin(),
                      segments_.begin() + static_cast<ptrdiff_t>(done));
      if (segments_.empty())
        open_ = false;
    }
    offset_ += left;
    if (left > 0 || done < n)
      return result::blocked; // short write: the send buffer is full
  }
  return result::done;
}

void output_queue::clear() noexcept {
  segments_.clear();
  segments_.shrink_to_fit();
  spare_ = std::string{};
  offset_ = 0;
  open_ = false;
}

} // namespace roadrunner::io
