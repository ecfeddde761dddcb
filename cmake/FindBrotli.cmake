# FindBrotli: locates libbrotlienc and libbrotlidec (Debian libbrotli-dev)
# and provides the imported targets Brotli::encoder and Brotli::decoder.
include(FindPackageHandleStandardArgs)
find_path(BROTLI_INCLUDE_DIR brotli/encode.h)
find_library(BROTLI_ENC_LIBRARY brotlienc)
find_library(BROTLI_DEC_LIBRARY brotlidec)
find_package_handle_standard_args(Brotli
  REQUIRED_VARS BROTLI_INCLUDE_DIR BROTLI_ENC_LIBRARY BROTLI_DEC_LIBRARY)
if(Brotli_FOUND)
  if(NOT TARGET Brotli::encoder)
    add_library(Brotli::encoder UNKNOWN IMPORTED)
    set_target_properties(Brotli::encoder PROPERTIES
      IMPORTED_LOCATION "${BROTLI_ENC_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${BROTLI_INCLUDE_DIR}")
  endif()
  if(NOT TARGET Brotli::decoder)
    add_library(Brotli::decoder UNKNOWN IMPORTED)
    set_target_properties(Brotli::decoder PROPERTIES
      IMPORTED_LOCATION "${BROTLI_DEC_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${BROTLI_INCLUDE_DIR}")
  endif()
endif()
mark_as_advanced(BROTLI_INCLUDE_DIR BROTLI_ENC_LIBRARY BROTLI_DEC_LIBRARY)
