#include "io/output_queue.hpp"

#include "free_string.hpp"
#include "tls/session.hpp"

#include <signal.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <pthread.h>

namespace roadrunner::io {

// Storage given back by idle queues of this thread, for the next queue that
// writes: a thread's connections take turns with a few buffers instead of
// each idle one keeping its own. Bounded; buffers over `max_buffer` are
// never pooled. One entry holds both the segment list and the byte buffer,
// so lending them back and forth is one push and one pop.
struct output_queue::storage_pool {
  static constexpr size_t max_entries = 64;
  static constexpr size_t max_buffer = 4096;
  struct entry {
    std::vector<segment> segments;
    std::string buffer;
  };
  std::vector<entry> free;

  // Out of line: keeps the callers' fast path free of the setup's spills.
  [[gnu::noinline]] storage_pool() { free.reserve(max_entries); }
};

namespace {

bool has_heap_buffer(const std::string& s) noexcept {
  return s.capacity() > std::string{}.capacity();
}

} // namespace

output_queue::storage_pool& output_queue::pool() {
  thread_local storage_pool p;
  return p;
}

output_queue::segment& output_queue::new_segment() {
  if (segments_.capacity() == 0 && !has_heap_buffer(spare_)) {
    // Released earlier (or new): borrow a pooled list and buffer.
    auto& free = pool().free;
    if (!free.empty()) {
      segments_ = std::move(free.back().segments);
      spare_ = std::move(free.back().buffer);
      free.pop_back();
    }
  }
  return segments_.emplace_back();
}

void output_queue::release_spare() noexcept {
  if (!segments_.empty())
    return;
  offset_ = 0;
  open_ = false;
  bool heap = has_heap_buffer(spare_);
  if (segments_.capacity() == 0 && !heap)
    return;
  auto& free = pool().free;
  if (free.size() < storage_pool::max_entries &&
      spare_.capacity() <= storage_pool::max_buffer) {
    // Reserved: cannot throw. Both are left empty, without storage.
    free.push_back({std::move(segments_), std::move(spare_)});
    return;
  }
  std::vector<segment>{}.swap(segments_);
  detail::free_string(spare_);
}

void output_queue::open_segment() {
  auto& seg = new_segment();
  seg.bytes = std::move(spare_);
  spare_ = std::string{};
  seg.bytes.clear();
  open_ = true;
}

void output_queue::append_body(std::string&& body) {
  if (body.size() < zero_copy_threshold) {
    buffer().append(body);
    return;
  }
  new_segment().bytes = std::move(body);
  open_ = false;
}

void output_queue::drop_empty_tail() noexcept {
  if (!open_ || segments_.empty())
    return;
  auto& last = segments_.back();
  if (last.file || !last.bytes.empty() || (segments_.size() == 1 && offset_))
    return;
  if (last.bytes.capacity() > spare_.capacity())
    spare_ = std::move(last.bytes);
  segments_.pop_back();
  open_ = false;
}

void output_queue::append_file(file_body_ptr file) {
  if (file->length() == 0)
    return;
  auto& seg = new_segment();
  seg.file_pos = file->offset();
  seg.file_left = file->length();
  seg.file = std::move(file);
  open_ = false;
}

size_t output_queue::pending() const noexcept {
  size_t n = 0;
  for (auto& s : segments_)
    n += s.size();
  return n - offset_;
}

namespace {

// sendfile(2) has no MSG_NOSIGNAL: writing to a peer that reset raises
// SIGPIPE, which kills the process by default. Block it on the calling
// (reactor) thread, once: the call then fails with EPIPE, as sendmsg does.
// That SIGPIPE is thread-directed, so it stays pending on this thread and
// never reaches another one.
void block_sigpipe() noexcept {
  thread_local bool blocked = false;
  if (blocked)
    return;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  blocked = true;
}

} // namespace

output_queue::result output_queue::flush_file(int fd) {
  block_sigpipe();
  auto& seg = segments_.front();
  while (seg.file_left > 0) {
    auto off = static_cast<off_t>(seg.file_pos);
    auto chunk = std::min<uint64_t>(seg.file_left, 1u << 30);
    auto n = ::sendfile(fd, seg.file->fd(), &off, static_cast<size_t>(chunk));
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return result::blocked;
      return result::failed;
    }
    if (n == 0) // the file shrank under us: we cannot keep our promise
      return result::failed;
    seg.file_pos += static_cast<uint64_t>(n);
    seg.file_left -= static_cast<uint64_t>(n);
    if (static_cast<uint64_t>(n) < chunk)
      return seg.file_left == 0 ? result::done : result::blocked;
  }
  return result::done;
}

output_queue::result output_queue::flush(int fd) {
  constexpr size_t max_iov = 64;
  while (!segments_.empty()) {
    if (segments_.front().file) {
      auto r = flush_file(fd);
      if (segments_.front().file_left == 0) {
        segments_.erase(segments_.begin());
        if (segments_.empty())
          open_ = false;
      }
      if (r != result::done)
        return r;
      continue;
    }
    // Gather byte segments up to the next file segment into one sendmsg.
    iovec iov[max_iov];
    size_t n = 0;
    while (n < std::min(segments_.size(), max_iov) && !segments_[n].file) {
      auto& s = segments_[n].bytes;
      size_t skip = n == 0 ? offset_ : 0;
      iov[n].iov_base = s.data() + skip;
      iov[n].iov_len = s.size() - skip;
      ++n;
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
    while (done < n) {
      auto avail = segments_[done].bytes.size() - (done == 0 ? offset_ : 0);
      if (left < avail)
        break;
      left -= avail;
      if (done == 0)
        offset_ = 0;
      ++done;
    }
    if (done > 0)
      drop_front(done);
    offset_ += left;
    if (left > 0 || done < n)
      return result::blocked; // short write: the send buffer is full
  }
  return result::done;
}

void output_queue::consume(size_t n) noexcept {
  size_t done = 0; // segments fully written
  size_t off = offset_;
  while (n > 0 && done < segments_.size()) {
    auto& seg = segments_[done];
    size_t avail =
      seg.file ? static_cast<size_t>(seg.file_left) : seg.bytes.size() - off;
    if (n < avail) {
      if (seg.file) {
        seg.file_pos += n;
        seg.file_left -= n;
      } else {
        off += n;
      }
      break;
    }
    n -= avail;
    off = 0;
    ++done;
  }
  drop_front(done);
  offset_ = off;
}

void output_queue::drop_front(size_t done) noexcept {
  // Keep the biggest written buffer's capacity for the next response.
  for (size_t i = 0; i < done; ++i) {
    auto& b = segments_[i].bytes;
    if (b.capacity() > spare_.capacity() && b.capacity() <= 65536)
      spare_ = std::move(b);
  }
  segments_.erase(segments_.begin(),
                  segments_.begin() + static_cast<ptrdiff_t>(done));
  if (segments_.empty())
    open_ = false;
}

output_queue::result output_queue::flush(tls::session& session) {
  constexpr size_t max_iov = 64;
  constexpr size_t record = tls::session::max_record;
  // File bytes pass through user space to be encrypted: one bounded chunk
  // buffer per thread, not per connection.
  thread_local std::unique_ptr<char[]> chunk;
  while (!segments_.empty()) {
    if (segments_.front().file && session.ktls_send()) {
      // kTLS: the kernel reads, encrypts and sends the file (SSL_sendfile).
      block_sigpipe();
      auto& seg = segments_.front();
      auto len =
        static_cast<size_t>(std::min<uint64_t>(seg.file_left, 1u << 30));
      auto r = session.sendfile(seg.file->fd(), seg.file_pos, len);
      consume(r.bytes);
      if (r.status == tls::status::ok)
        continue;
      return r.status == tls::status::want_write ? result::blocked
                                                 : result::failed;
    }
    // Gather byte segments, and at most one file chunk at the end (sized to
    // fill the record the bytes before it started, so a response head and
    // the file's first bytes share a record). With kTLS the gathering stops
    // at a file (sent above, once the bytes before it are out).
    iovec iov[max_iov];
    size_t n = 0;
    size_t bytes = 0;
    for (size_t i = 0; i < segments_.size() && n < max_iov; ++i) {
      auto& seg = segments_[i];
      if (!seg.file) {
        size_t skip = i == 0 ? offset_ : 0;
        iov[n].iov_base = seg.bytes.data() + skip;
        iov[n].iov_len = seg.bytes.size() - skip;
        bytes += iov[n].iov_len;
        ++n;
        continue;
      }
      if (session.ktls_send())
        break;
      auto want = static_cast<size_t>(
        std::min<uint64_t>(seg.file_left, record - bytes % record));
      if (!chunk)
        chunk = std::make_unique<char[]>(record);
      ssize_t got;
      do {
        got = ::pread(seg.file->fd(), chunk.get(), want,
                      static_cast<off_t>(seg.file_pos));
      } while (got < 0 && errno == EINTR);
      if (got <= 0) // an error, or the file shrank: we cannot keep our promise
        return result::failed;
      iov[n].iov_base = chunk.get();
      iov[n].iov_len = static_cast<size_t>(got);
      ++n;
      break;
    }
    // The queue's front stays as it is until the session took it, so a
    // retry after want_* presents the same bytes (file bytes read again).
    auto r = session.write(std::span<const iovec>{iov, n});
    consume(r.bytes);
    switch (r.status) {
    case tls::status::ok:
      break;
    case tls::status::want_read:
    case tls::status::want_write:
      return result::blocked;
    default:
      return result::failed;
    }
  }
  return result::done;
}

void output_queue::clear() noexcept {
  segments_.clear();
  segments_.shrink_to_fit();
  detail::free_string(spare_);
  offset_ = 0;
  open_ = false;
}

} // namespace roadrunner::io
