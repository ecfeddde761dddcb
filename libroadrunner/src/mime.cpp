#include "mime.hpp"

#include <roadrunner/static_files.hpp>

#include <cctype>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <unordered_map>

namespace roadrunner {

namespace {

using detail::mime_table;

// A few types for a machine without /etc/mime.types (Debian's
// media-types package), so a bare container still serves a site.
const mime_table& builtin_table() {
  static const mime_table t = {
    {"html", "text/html"},        {"htm", "text/html"},
    {"css", "text/css"},          {"js", "text/javascript"},
    {"mjs", "text/javascript"},   {"json", "application/json"},
    {"txt", "text/plain"},        {"svg", "image/svg+xml"},
    {"png", "image/png"},         {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},       {"gif", "image/gif"},
    {"webp", "image/webp"},       {"ico", "image/vnd.microsoft.icon"},
    {"wasm", "application/wasm"}, {"pdf", "application/pdf"},
    {"xml", "application/xml"},   {"woff2", "font/woff2"},
  };
  return t;
}

std::string lower(std::string_view x) {
  std::string out{x};
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "type ext ext..." per line, '#' comments (mime.types(5)). The first
// type listing an extension wins, as in nginx's and Apache's readers.
std::shared_ptr<const mime_table> read_table(const std::string& path) {
  std::ifstream in{path};
  if (!in)
    return nullptr;
  auto t = std::make_shared<mime_table>();
  std::string line;
  while (std::getline(in, line)) {
    auto hash = line.find('#');
    if (hash != std::string::npos)
      line.resize(hash);
    std::istringstream words{line};
    std::string type;
    std::string ext;
    if (!(words >> type))
      continue;
    while (words >> ext)
      t->emplace(lower(ext), type);
  }
  return t;
}

// Tables by path, read once each and never freed (a handful at most).
std::shared_ptr<const mime_table> table_for(const std::string& path) {
  static std::mutex mtx;
  static std::map<std::string, std::shared_ptr<const mime_table>> tables;
  std::lock_guard<std::mutex> guard{mtx};
  auto it = tables.find(path);
  if (it == tables.end())
    it = tables.emplace(path, read_table(path)).first;
  return it->second;
}

} // namespace

namespace detail {

std::shared_ptr<const mime_table> load_mime_table(const std::string& path) {
  auto t = table_for(path);
  if (t)
    return t;
  return {std::shared_ptr<const mime_table>{}, &builtin_table()};
}

std::string_view lookup_mime(const mime_table& t, std::string_view name,
                             std::string_view fallback) {
  auto slash = name.rfind('/');
  if (slash != std::string_view::npos)
    name.remove_prefix(slash + 1);
  auto dot = name.rfind('.');
  if (dot == std::string_view::npos || dot + 1 == name.size())
    return fallback;
  auto ext = lower(name.substr(dot + 1));
  auto it = t.find(ext);
  return it != t.end() ? std::string_view{it->second} : fallback;
}

} // namespace detail

std::string mime_type(std::string_view name, const std::string& table,
                      std::string_view fallback) {
  auto t = detail::load_mime_table(table);
  return std::string{detail::lookup_mime(*t, name, fallback)};
}

} // namespace roadrunner
