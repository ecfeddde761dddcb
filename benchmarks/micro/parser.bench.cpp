// Micro-benchmarks of the HTTP/1.1 request-head parser and the chunked
// decoder (libroadrunner/src/http1/parser.hpp). Each
// iteration parses one complete message held in memory, the way a
// connection parses a request that arrived in one read; the parser is reset
// between iterations, so its vectors keep their capacity as on a keep-alive
// connection.

#include "http1/parser.hpp"

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace {

using roadrunner::http1::chunked_decoder;
using roadrunner::http1::parse_status;
using roadrunner::http1::request_parser;

// What wrk sends for `wrk http://127.0.0.1:8080/`.
constexpr std::string_view small_get = "GET / HTTP/1.1\r\n"
                                       "Host: 127.0.0.1:8080\r\n"
                                       "\r\n";

// A browser-like request: 16 header fields of typical sizes.
constexpr std::string_view get_16_headers =
  "GET /api/v1/items/42?expand=owner&fields=id,name HTTP/1.1\r\n"
  "Host: www.example.com\r\n"
  "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 "
  "Firefox/120.0\r\n"
  "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
  "Accept-Language: en-US,en;q=0.5\r\n"
  "Accept-Encoding: gzip, deflate, br\r\n"
  "Referer: https://www.example.com/api/v1/items\r\n"
  "Connection: keep-alive\r\n"
  "Cookie: session=0123456789abcdef0123456789abcdef; theme=dark\r\n"
  "Upgrade-Insecure-Requests: 1\r\n"
  "Sec-Fetch-Dest: document\r\n"
  "Sec-Fetch-Mode: navigate\r\n"
  "Sec-Fetch-Site: same-origin\r\n"
  "Sec-Fetch-User: ?1\r\n"
  "Cache-Control: max-age=0\r\n"
  "If-None-Match: \"33a64df551425fcc55e4d42a148795d9f25f89d4\"\r\n"
  "X-Request-Id: 7f3c2a10-5d1e-4f4b-9a8e-2c6d1b0e9f11\r\n"
  "\r\n";

void parse_head(benchmark::State& state, std::string_view input) {
  request_parser p;
  for (auto _ : state) {
    p.reset();
    auto st = p.parse(input);
    if (st != parse_status::complete) {
      state.SkipWithError("the request did not parse");
      break;
    }
    benchmark::DoNotOptimize(p.head().headers.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(input.size()));
}

void BM_parse_small_get(benchmark::State& state) {
  parse_head(state, small_get);
}
BENCHMARK(BM_parse_small_get);

void BM_parse_16_headers(benchmark::State& state) {
  parse_head(state, get_16_headers);
}
BENCHMARK(BM_parse_16_headers);

// A chunked body of `chunks` chunks of `chunk_size` bytes each, then the
// last chunk and an empty trailer section.
std::string chunked_body(size_t chunks, size_t chunk_size) {
  std::string wire;
  char size_line[32];
  std::snprintf(size_line, sizeof size_line, "%zx\r\n", chunk_size);
  for (size_t i = 0; i < chunks; ++i) {
    wire += size_line;
    wire.append(chunk_size, 'x');
    wire += "\r\n";
  }
  wire += "0\r\n\r\n";
  return wire;
}

// Args: number of chunks, chunk size in bytes.
void BM_decode_chunked(benchmark::State& state) {
  const auto chunks = static_cast<size_t>(state.range(0));
  const auto chunk_size = static_cast<size_t>(state.range(1));
  const std::string wire = chunked_body(chunks, chunk_size);
  chunked_decoder d;
  uint64_t total = 0;
  for (auto _ : state) {
    d.reset();
    auto st = d.decode(wire, [&](std::string_view piece) {
      total += piece.size();
      benchmark::DoNotOptimize(piece.data());
    });
    if (st != parse_status::complete) {
      state.SkipWithError("the body did not decode");
      break;
    }
  }
  benchmark::DoNotOptimize(total);
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(wire.size()));
}
BENCHMARK(BM_decode_chunked)
  ->ArgNames({"chunks", "size"})
  ->Args({16, 256})   // 4 KiB in 16 chunks
  ->Args({4, 16384}); // 64 KiB in 4 chunks

} // namespace
