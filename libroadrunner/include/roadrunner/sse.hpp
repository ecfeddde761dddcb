#pragma once

// Server-sent events (WHATWG HTML 9.2): the head of an event stream and
// the formatting of one event, safe against field injection.

#include <roadrunner/response.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace roadrunner::sse {

/// The head of an event stream: 200, `content-type: text/event-stream`,
/// `cache-control: no-cache`. Pass it to `responder::stream`.
response head();

/// One event to format.
struct event {
  /// The payload. Line breaks (CRLF, LF or CR) split it into several
  /// `data:` lines, which the client joins with LF again; nothing in it
  /// can start another field or event.
  std::string_view data;
  /// `event:` type; empty: none (the client's default "message").
  std::string_view type = {};
  /// `id:` (last event id); empty: none.
  std::string_view id = {};
  /// `retry:` reconnection time in ms; negative: none.
  int64_t retry_ms = -1;
};

/// The wire form of `e`, ending with the blank line that dispatches it.
/// nullopt when `type` or `id` holds CR, LF or NUL (or `id` holds NUL, which
/// the client would ignore): those fields are single lines, and injecting
/// a line break there would forge fields or events.
std::optional<std::string> format(const event& e);

/// A comment line (": text"), e.g. a keep-alive ping; line breaks in
/// `text` are replaced by spaces.
std::string comment(std::string_view text);

} // namespace roadrunner::sse
