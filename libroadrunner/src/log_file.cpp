#include <roadrunner/log_file.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <pthread.h>
#include <thread>
#include <vector>

namespace roadrunner {

namespace detail {

namespace {

std::atomic<uint64_t> next_log_id{1};

// One thread's pending lines. Written by its thread under `mtx`; the
// writer swaps `pending` out under `mtx` and writes it unlocked.
struct thread_buffer {
  std::mutex mtx;
  std::string pending;
};

int open_append(const std::string& path) {
  return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

// Writes all of `data`; false on an error other than EINTR.
bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    auto n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

} // namespace

// Runs on: any appending thread (append) and its own writer thread (run).
class log_file_impl {
public:
  log_file_impl(log_file_options opts, int fd)
    : opts_(std::move(opts)), fd_(fd), id_(next_log_id.fetch_add(1)) {
    writer_ = std::thread{[this] { run(); }};
    // Named for top -H and /proc/PID/task/*/comm, like the reactors.
    ::pthread_setname_np(writer_.native_handle(), "rr.log");
  }

  ~log_file_impl() {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      stopping_ = true;
    }
    cv_.notify_all();
    writer_.join(); // the last round writes what is left
    if (fd_ != STDERR_FILENO)
      ::close(fd_);
  }

  bool append(void (*fn)(std::string&, void*), void* ctx) {
    auto& b = local();
    bool wake = false;
    {
      std::lock_guard<std::mutex> guard{b.mtx};
      auto before = b.pending.size();
      if (before >= opts_.max_buffered_bytes) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return false;
      }
      fn(b.pending, ctx);
      if (b.pending.size() > opts_.max_buffered_bytes) {
        b.pending.resize(before); // the line does not fit: drop it whole
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return false;
      }
      wake = before < opts_.max_buffered_bytes / 2 &&
             b.pending.size() >= opts_.max_buffered_bytes / 2;
    }
    if (wake) {
      // The writer's wait checks a predicate: a bare notify would put it
      // back to sleep until the flush interval, and a buffer filling faster
      // than that would drop lines.
      {
        std::lock_guard<std::mutex> guard{mtx_};
        wake_ = true;
      }
      cv_.notify_one();
    }
    return true;
  }

  uint64_t dropped() const noexcept {
    return dropped_.load(std::memory_order_relaxed);
  }

  void reopen() noexcept {
    reopen_.store(true, std::memory_order_relaxed);
    cv_.notify_one();
  }

  void flush() {
    std::unique_lock<std::mutex> guard{mtx_};
    auto wanted = ++flush_requested_;
    cv_.notify_all();
    done_cv_.wait(guard, [&] { return flush_done_ >= wanted || stopped_; });
  }

  const std::string& path() const noexcept { return opts_.path; }

private:
  thread_buffer& local() {
    // Log ids are never reused, so an entry of a destroyed log never
    // matches again.
    thread_local std::vector<std::pair<uint64_t, thread_buffer*>> cache;
    for (auto& [id, b] : cache)
      if (id == id_)
        return *b;
    std::lock_guard<std::mutex> guard{mtx_};
    buffers_.push_back(std::make_unique<thread_buffer>());
    cache.emplace_back(id_, buffers_.back().get());
    return *buffers_.back();
  }

  void run() {
    std::string out;
    for (;;) {
      uint64_t serving = 0;
      bool last = false;
      {
        std::unique_lock<std::mutex> guard{mtx_};
        cv_.wait_for(guard, opts_.flush_interval, [&] {
          return stopping_ || wake_ || flush_requested_ > flush_done_ ||
                 reopen_.load(std::memory_order_relaxed);
        });
        serving = flush_requested_;
        wake_ = false;
        last = stopping_;
      }
      if (reopen_.exchange(false, std::memory_order_relaxed))
        do_reopen();
      write_round(out);
      {
        std::lock_guard<std::mutex> guard{mtx_};
        flush_done_ = serving;
        if (last)
          stopped_ = true;
      }
      done_cv_.notify_all();
      if (last)
        return;
    }
  }

  // Takes every thread's pending lines and writes them.
  void write_round(std::string& out) {
    std::vector<thread_buffer*> bufs;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      for (auto& b : buffers_)
        bufs.push_back(b.get());
    }
    for (auto* b : bufs) {
      out.clear();
      {
        std::lock_guard<std::mutex> guard{b->mtx};
        out.swap(b->pending);
      }
      // A failing disk (ENOSPC, EIO) loses this batch, not the next; its
      // lines count as dropped.
      if (!out.empty() && !write_all(fd_, out))
        dropped_.fetch_add(
          static_cast<uint64_t>(std::count(out.begin(), out.end(), '\n')),
          std::memory_order_relaxed);
      {
        // Give the (grown) buffer back, so steady logging does not allocate.
        std::lock_guard<std::mutex> guard{b->mtx};
        if (b->pending.empty()) {
          out.clear();
          out.swap(b->pending);
        }
      }
    }
  }

  void do_reopen() {
    if (opts_.path == "-")
      return;
    int fd = open_append(opts_.path);
    if (fd < 0)
      return; // keep writing to the old file rather than losing lines
    ::close(fd_);
    fd_ = fd;
  }

  log_file_options opts_;
  int fd_;
  uint64_t id_;
  std::atomic<uint64_t> dropped_{0};
  std::atomic<bool> reopen_{false};
  std::mutex mtx_; // buffers_, flush and stop state
  std::condition_variable cv_;
  std::condition_variable done_cv_;
  std::vector<std::unique_ptr<thread_buffer>> buffers_;
  uint64_t flush_requested_ = 0;
  /// A thread's buffer reached half of `max_buffered_bytes` (under mtx_).
  bool wake_ = false;
  uint64_t flush_done_ = 0;
  bool stopping_ = false;
  bool stopped_ = false;
  std::thread writer_;
};

} // namespace detail

std::shared_ptr<log_file> log_file::open(log_file_options opts,
                                         std::string& error) {
  int fd = STDERR_FILENO;
  if (opts.path.empty()) {
    error = "log file path must not be empty (\"-\" is stderr)";
    return nullptr;
  }
  if (opts.path != "-") {
    fd = detail::open_append(opts.path);
    if (fd < 0) {
      error = opts.path + ": " + std::strerror(errno);
      return nullptr;
    }
  }
  if (opts.max_buffered_bytes == 0)
    opts.max_buffered_bytes = 1;
  if (opts.flush_interval.count() < 1)
    opts.flush_interval = std::chrono::milliseconds{1};
  auto impl = std::make_unique<detail::log_file_impl>(std::move(opts), fd);
  return std::shared_ptr<log_file>{new log_file(std::move(impl))};
}

log_file::log_file(std::unique_ptr<detail::log_file_impl> impl)
  : impl_(std::move(impl)) {}

log_file::~log_file() = default;

bool log_file::append_raw(void (*fn)(std::string&, void*), void* ctx) {
  return impl_->append(fn, ctx);
}

bool log_file::append(std::string_view line) {
  return append_with([line](std::string& out) { out += line; });
}

uint64_t log_file::dropped() const noexcept {
  return impl_->dropped();
}

void log_file::reopen() noexcept {
  impl_->reopen();
}

void log_file::flush() {
  impl_->flush();
}

const std::string& log_file::path() const noexcept {
  return impl_->path();
}

} // namespace roadrunner
