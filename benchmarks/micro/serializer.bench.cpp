// Micro-benchmarks of the HTTP/1.1 response serializer (`write_head`, in
// libroadrunner/src/http1/serializer.hpp): the status line and header
// section of a small text response, appended to a buffer the connection
// reuses (cleared, capacity kept), as on a keep-alive connection. The body
// itself is not copied by write_head (it goes out as a separate iovec).

#include "http1/serializer.hpp"

#include <roadrunner/response.hpp>

#include <benchmark/benchmark.h>

#include <string>
#include <string_view>

namespace {

using roadrunner::response;
using roadrunner::http1::connection_field;
using roadrunner::http1::write_head;

constexpr std::string_view date = "Mon, 23 Nov 2026 10:00:00 GMT";

void serialize(benchmark::State& state, const response& r) {
  std::string out;
  out.reserve(512);
  for (auto _ : state) {
    out.clear();
    write_head(out, r, r.body().size(), date, connection_field::none);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(out.size()));
}

// `response::text(200, "Hello, World!")`: what the demo's GET / answers.
void BM_write_head_text(benchmark::State& state) {
  serialize(state, response::text(200, "Hello, World!"));
}
BENCHMARK(BM_write_head_text);

// The same with four user header fields.
void BM_write_head_text_4_fields(benchmark::State& state) {
  serialize(state, response::text(200, "Hello, World!")
                     .header("cache-control", "no-store")
                     .header("x-request-id", "7f3c2a10-5d1e-4f4b-9a8e")
                     .header("vary", "accept-encoding")
                     .header("x-frame-options", "DENY"));
}
BENCHMARK(BM_write_head_text_4_fields);

} // namespace
