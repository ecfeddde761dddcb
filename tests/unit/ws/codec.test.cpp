// The CAF-free WebSocket codec (libroadrunner/src/ws): frame headers, UTF-8
// validation across pieces, close codes, the handshake's key and accept.

#include "ws/codec.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace roadrunner::ws;

TEST_SUITE("unit.ws.codec") {

  TEST_CASE("the accept key of RFC 6455 1.3's example") {
    CHECK(accept_key("dGhlIHNhbXBsZSBub25jZQ==") ==
          "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  }

  TEST_CASE("a key is base64 of exactly 16 bytes (RFC 6455 4.1)") {
    CHECK(valid_key("dGhlIHNhbXBsZSBub25jZQ=="));
    CHECK_FALSE(valid_key(""));
    CHECK_FALSE(valid_key("c2hvcnQ="));                  // 5 bytes
    CHECK_FALSE(valid_key("dGhlIHNhbXBsZSBub25jZR=="));  // low bits set
    CHECK_FALSE(valid_key("dGhlIHNhbXBsZSBub25j!Q=="));  // not base64
    CHECK_FALSE(valid_key("dGhlIHNhbXBsZSBub25jZQ==x")); // too long
  }

  TEST_CASE("UTF-8: valid and invalid sequences, also split anywhere") {
    struct row {
      std::string bytes;
      bool valid;
    };
    std::vector<row> rows{
      {"plain ascii", true},
      {"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", true}, // é € 😀
      {"\xed\x9f\xbf", true},                         // U+D7FF
      {"\xf4\x8f\xbf\xbf", true},                     // U+10FFFF
      {"\xc0\xaf", false},                            // overlong
      {"\xe0\x80\xaf", false},                        // overlong
      {"\xed\xa0\x80", false},                        // surrogate
      {"\xf4\x90\x80\x80", false},                    // above U+10FFFF
      {"\xf5\x80\x80\x80", false},
      {"\x80", false},     // lone continuation
      {"\xe2\x82", false}, // truncated
      {"\xc3\x28", false},
    };
    for (auto& r : rows) {
      CAPTURE(r.bytes);
      CHECK(valid_utf8(r.bytes) == r.valid);
      // Every split point gives the same verdict.
      for (size_t cut = 0; cut <= r.bytes.size(); ++cut) {
        utf8_validator v;
        bool ok = v.feed(std::string_view{r.bytes}.substr(0, cut)) &&
                  v.feed(std::string_view{r.bytes}.substr(cut)) && v.complete();
        CHECK(ok == r.valid);
      }
    }
  }

  TEST_CASE("close codes a peer may send (RFC 6455 7.4)") {
    for (uint16_t c : {1000, 1001, 1002, 1003, 1007, 1011, 1014, 3000, 4999})
      CHECK(valid_close_code(c));
    for (uint16_t c : {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000})
      CHECK_FALSE(valid_close_code(c));
  }

  TEST_CASE("frame headers: lengths, limits and refusals (RFC 6455 5.2)") {
    frame_header fh;
    frame_error err;
    // Masked text "Hello" from RFC 6455 5.7.
    std::string hello{"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11};
    REQUIRE(parse_frame_header(hello, 100, fh, err) == parse_result::ok);
    CHECK(fh.op == opcode::text);
    CHECK(fh.fin);
    CHECK(fh.header_size == 6);
    CHECK(fh.payload_size == 5);
    unmask(hello.data() + 6, 5, fh.mask);
    CHECK(hello.substr(6) == "Hello");
    // Every prefix of the header needs more.
    for (size_t n = 0; n < 6; ++n)
      CHECK(parse_frame_header(hello.substr(0, n), 100, fh, err) ==
            parse_result::need_more);
    struct row {
      std::string bytes;
      uint16_t code;
    };
    std::vector<row> rows{
      {std::string{"\x81\x05", 2}, 1002},         // unmasked
      {std::string{"\xc1\x80", 2}, 1002},         // RSV1
      {std::string{"\x83\x80", 2}, 1002},         // opcode 3
      {std::string{"\x09\x80", 2}, 1002},         // fragmented ping
      {std::string{"\x89\xfe\x00\x7e", 4}, 1002}, // ping of 126
      {std::string{"\x82\xfe\x00\x65", 4}, 1009}, // 101 > 100
      {std::string{"\x82\xff\x80\x00\x00\x00\x00\x00\x00\x00", 10}, 1009},
    };
    for (auto& r : rows) {
      CAPTURE(r.bytes);
      CHECK(parse_frame_header(r.bytes, 100, fh, err) == parse_result::fail);
      CHECK(err.code == r.code);
    }
  }

  TEST_CASE("server frames: the three length forms, and close frames") {
    std::string out;
    write_frame_header(out, opcode::binary, 125);
    CHECK(out == std::string{"\x82\x7d", 2});
    out.clear();
    write_frame_header(out, opcode::text, 126);
    CHECK(out == std::string{"\x81\x7e\x00\x7e", 4});
    out.clear();
    write_frame_header(out, opcode::text, 65536);
    CHECK(out == std::string{"\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10});
    out.clear();
    // A long reason is cut at a character boundary to fit 125 bytes.
    std::string reason;
    for (int i = 0; i < 50; ++i)
      reason += "\xc3\xa9"; // 100 bytes
    reason += std::string(30, 'z');
    write_close_frame(out, 1001, "\xe2\x82\xac" + reason);
    CHECK(static_cast<uint8_t>(out[1]) <= 125);
    CHECK(out.substr(2, 2) == std::string{"\x03\xe9", 2});
    CHECK(valid_utf8(out.substr(4)));
  }
}
