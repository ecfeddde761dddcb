// permessage-deflate (RFC 7692): negotiation and the zlib streams.

#include "ws/deflate.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace roadrunner::ws;

TEST_SUITE("unit.ws.deflate") {

  TEST_CASE("negotiation picks the first acceptable offer (RFC 7692 5.1)") {
    deflate_config cfg;
    CHECK_FALSE(negotiate_deflate("", cfg));
    CHECK_FALSE(negotiate_deflate("x-webkit-deflate-frame", cfg));
    auto p =
      negotiate_deflate("permessage-deflate; client_max_window_bits", cfg);
    REQUIRE(p);
    CHECK(extension_header(*p) == "permessage-deflate");
    // An unknown parameter declines that offer; the next one is taken.
    p = negotiate_deflate("permessage-deflate; foo=1, permessage-deflate; "
                          "server_no_context_takeover; "
                          "server_max_window_bits=10",
                          cfg);
    REQUIRE(p);
    CHECK(p->server_no_context_takeover);
    CHECK(p->server_max_window_bits == 10);
    CHECK(extension_header(*p) == "permessage-deflate; "
                                  "server_no_context_takeover; "
                                  "server_max_window_bits=10");
    struct row {
      std::string offer;
    };
    for (auto& bad : std::vector<std::string>{
           "permessage-deflate; server_max_window_bits=16",
           "permessage-deflate; server_max_window_bits=8", // zlib cannot
           "permessage-deflate; server_max_window_bits",
           "permessage-deflate; client_max_window_bits=7",
           "permessage-deflate; client_no_context_takeover=1",
           "permessage-deflate; client_no_context_takeover; "
           "client_no_context_takeover"}) {
      CAPTURE(bad);
      CHECK_FALSE(negotiate_deflate(bad, cfg));
    }
    // A quoted value is a value (RFC 7692 7.1.2.1).
    p = negotiate_deflate("permessage-deflate; client_max_window_bits=\"12\"",
                          cfg);
    REQUIRE(p);
    CHECK(p->client_max_window_bits == 12);
    CHECK(extension_header(*p) ==
          "permessage-deflate; client_max_window_bits=12");
    // The server's own limit.
    cfg.max_window_bits = 11;
    cfg.server_no_context_takeover = true;
    p = negotiate_deflate("permessage-deflate", cfg);
    REQUIRE(p);
    CHECK(extension_header(*p) == "permessage-deflate; "
                                  "server_no_context_takeover; "
                                  "server_max_window_bits=11");
  }

  TEST_CASE("round trips, with and without context takeover") {
    for (bool takeover : {true, false}) {
      CAPTURE(takeover);
      deflate_params p;
      p.server_no_context_takeover = !takeover;
      p.client_no_context_takeover = !takeover;
      deflate_session tx{p, 8};
      deflate_session rx{p, 8};
      std::string text;
      for (int i = 0; i < 200; ++i)
        text += "the quick brown fox " + std::to_string(i) + " ";
      for (int round = 0; round < 3; ++round) {
        std::string wire;
        REQUIRE(tx.compress(text, wire));
        CHECK(wire.size() < text.size() / 2);
        std::string back;
        REQUIRE(rx.decompress(wire, back, 1 << 20) == inflate_result::ok);
        CHECK(back == text);
      }
    }
  }

  TEST_CASE("RFC 7692 7.2.3.1's example: \"Hello\" compressed") {
    deflate_session rx{deflate_params{}, 8};
    std::string wire{"\xf2\x48\xcd\xc9\xc9\x07\x00", 7};
    std::string out;
    REQUIRE(rx.decompress(wire, out, 100) == inflate_result::ok);
    CHECK(out == "Hello");
  }

  TEST_CASE("a decompression bomb stops at the limit; garbage is refused") {
    deflate_session tx{deflate_params{}, 8};
    std::string zeros(10 * 1024 * 1024, '\0');
    std::string wire;
    REQUIRE(tx.compress(zeros, wire));
    CHECK(wire.size() < 20000);
    deflate_session rx{deflate_params{}, 8};
    std::string out;
    CHECK(rx.decompress(wire, out, 1 << 20) == inflate_result::too_big);
    CHECK(out.size() <= (1 << 20) + 1);
    deflate_session bad{deflate_params{}, 8};
    out.clear();
    CHECK(bad.decompress(std::string(16, '\xff'), out, 1 << 20) ==
          inflate_result::bad_data);
  }

  TEST_CASE("memory per session is counted and freed") {
    deflate_params p;
    {
      deflate_session s{p, 8};
      CHECK(s.memory() == 0); // nothing until used
      std::string wire;
      REQUIRE(s.compress("abc", wire));
      auto tx = s.memory();
      CHECK(tx > 200 * 1024); // 15-bit window, memLevel 8
      std::string out;
      REQUIRE(s.decompress(wire, out, 100) == inflate_result::ok);
      MESSAGE("window 15, memLevel 8: compressor ", tx, " B, both ",
              s.memory(), " B");
    }
    p.server_max_window_bits = 9;
    deflate_session small{p, 1};
    std::string wire;
    REQUIRE(small.compress("abc", wire));
    MESSAGE("window 9, memLevel 1: compressor ", small.memory(), " B");
    CHECK(small.memory() < 16 * 1024);
  }
}
