#pragma once

#include <sys/random.h>

#include <cstddef>
#include <cstdint>

namespace roadrunner::detail {

/// A fresh request id: 8 random bytes (upstream takes them from a CSPRNG
/// batch per connection). One getrandom() call fills a batch of 512 ids
/// per thread (each reactor thread has its own).
inline uint64_t next_request_id() noexcept {
  constexpr size_t batch = 512;
  thread_local uint64_t ids[batch];
  thread_local size_t next = batch;
  if (next == batch) {
    auto* bytes = reinterpret_cast<char*>(ids);
    size_t got = 0;
    while (got < sizeof(ids)) {
      auto n = ::getrandom(bytes + got, sizeof(ids) - got, 0);
      if (n <= 0)
        break;
      got += static_cast<size_t>(n);
    }
    next = 0;
  }
  return ids[next++];
}

} // namespace roadrunner::detail
