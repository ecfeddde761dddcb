#pragma once

// Content-coding negotiation (RFC 9110 12.5.3), shared by the compression
// filter and the static handler's precompressed siblings.

#include <optional>
#include <span>
#include <string_view>

namespace roadrunner::detail {

/// The outcome of `choose_coding`.
struct coding_choice {
  /// The chosen coding, one of the offered ones; empty for identity.
  std::string_view coding;
  /// True when neither an offered coding nor identity is acceptable (the
  /// one case where RFC 9110 12.5.3 lets a server answer 406).
  bool none_acceptable = false;
  /// True when the client excluded identity (`identity;q=0`, or `*;q=0`
  /// without identity listed).
  bool identity_refused = false;
};

/// Picks from `offered` (the server's preference order, lowercase) by the
/// request's Accept-Encoding value: the highest q-value wins, ties go to
/// the earlier offer; `*` covers codings not listed; identity wins only
/// when listed with a higher q than every acceptable coding. Without the
/// field (nullopt) nothing is encoded. Elements with a malformed q are
/// ignored. Codings compare case-insensitively; "x-gzip" is "gzip".
coding_choice choose_coding(std::optional<std::string_view> accept,
                            std::span<const std::string_view> offered);

} // namespace roadrunner::detail
