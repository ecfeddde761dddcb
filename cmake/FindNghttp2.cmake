# FindNghttp2: locates libnghttp2 (Debian libnghttp2-dev) and provides the
# imported target Nghttp2::nghttp2.
include(FindPackageHandleStandardArgs)
find_path(NGHTTP2_INCLUDE_DIR nghttp2/nghttp2.h)
find_library(NGHTTP2_LIBRARY nghttp2)
if(NGHTTP2_INCLUDE_DIR AND EXISTS "${NGHTTP2_INCLUDE_DIR}/nghttp2/nghttp2ver.h")
  file(STRINGS "${NGHTTP2_INCLUDE_DIR}/nghttp2/nghttp2ver.h" _ng_ver
       REGEX "^#define NGHTTP2_VERSION \"")
  if(_ng_ver MATCHES "\"([0-9.]+)")
    set(NGHTTP2_VERSION "${CMAKE_MATCH_1}")
  endif()
endif()
find_package_handle_standard_args(Nghttp2
  REQUIRED_VARS NGHTTP2_INCLUDE_DIR NGHTTP2_LIBRARY
  VERSION_VAR NGHTTP2_VERSION)
if(Nghttp2_FOUND AND NOT TARGET Nghttp2::nghttp2)
  add_library(Nghttp2::nghttp2 UNKNOWN IMPORTED)
  set_target_properties(Nghttp2::nghttp2 PROPERTIES
    IMPORTED_LOCATION "${NGHTTP2_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${NGHTTP2_INCLUDE_DIR}")
endif()
mark_as_advanced(NGHTTP2_INCLUDE_DIR NGHTTP2_LIBRARY)
