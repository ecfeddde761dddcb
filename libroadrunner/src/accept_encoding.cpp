#include "accept_encoding.hpp"

#include "web_fields.hpp"

namespace roadrunner::detail {

namespace {

// weight = OWS ";" OWS "q=" qvalue (RFC 9110 12.4.2); in thousandths, or
// -1 when malformed. Parameters other than q are ignored.
int parse_weight(std::string_view params) {
  int q = 1000;
  while (!params.empty()) {
    auto semi = params.find(';');
    auto p = trim_ows(params.substr(0, semi));
    params.remove_prefix(semi == std::string_view::npos ? params.size()
                                                        : semi + 1);
    if (p.size() < 2 || (p[0] != 'q' && p[0] != 'Q') || p[1] != '=')
      continue;
    auto v = p.substr(2);
    if (v.empty() || (v[0] != '0' && v[0] != '1') || v.size() > 5 ||
        (v.size() > 1 && v[1] != '.'))
      return -1;
    int value = (v[0] - '0') * 1000;
    int scale = 100;
    for (size_t i = 2; i < v.size(); ++i, scale /= 10) {
      if (v[i] < '0' || v[i] > '9')
        return -1;
      value += (v[i] - '0') * scale;
    }
    if (value > 1000)
      return -1;
    q = value;
  }
  return q;
}

} // namespace

coding_choice choose_coding(std::optional<std::string_view> accept,
                            std::span<const std::string_view> offered) {
  coding_choice out;
  if (!accept)
    return out;
  constexpr int unset = -2;
  int star = unset;
  int identity = unset;
  int best_q = 0;
  size_t best = offered.size();
  int offer_q[8];
  size_t n = offered.size() < 8 ? offered.size() : 8;
  for (size_t i = 0; i < n; ++i)
    offer_q[i] = unset;
  for_each_element(*accept, [&](std::string_view item) {
    auto semi = item.find(';');
    auto name = trim_ows(item.substr(0, semi));
    int q = semi == std::string_view::npos
              ? 1000
              : parse_weight(item.substr(semi + 1));
    if (q < 0)
      return;
    if (http1::iequals(name, "x-gzip"))
      name = "gzip";
    if (name == "*") {
      star = q;
    } else if (http1::iequals(name, "identity")) {
      identity = q;
    } else {
      for (size_t i = 0; i < n; ++i)
        if (http1::iequals(name, offered[i]))
          offer_q[i] = q;
    }
  });
  for (size_t i = 0; i < n; ++i) {
    int q = offer_q[i] != unset ? offer_q[i] : star != unset ? star : 0;
    if (q > best_q) {
      best_q = q;
      best = i;
    }
  }
  int id_q = identity != unset ? identity : star != unset ? star : 1;
  out.identity_refused = id_q == 0;
  if (best < n && !(identity != unset && identity > best_q)) {
    out.coding = offered[best];
    return out;
  }
  out.none_acceptable = out.identity_refused;
  return out;
}

} // namespace roadrunner::detail
