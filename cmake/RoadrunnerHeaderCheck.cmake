# roadrunner_header_check(TARGET) -- one translation unit per installed
# header (every .hpp under libroadrunner/include and actors/include, detail/
# too), each including only that header, twice (the include guard); built
# into the object library TARGET against the public interface of the
# `roadrunner` target. A header that is not self-contained (uses a type or
# a standard header it does not include) fails the build; new headers are
# picked up at configure time.
function(roadrunner_header_check target)
  file(GLOB_RECURSE _headers CONFIGURE_DEPENDS
       ${PROJECT_SOURCE_DIR}/libroadrunner/include/roadrunner/*.hpp
       ${PROJECT_SOURCE_DIR}/actors/include/roadrunner/*.hpp)
  set(_sources)
  foreach(_h IN LISTS _headers)
    string(REGEX REPLACE ".*/include/" "" _rel "${_h}")
    string(REPLACE "/" "_" _name "${_rel}")
    string(REPLACE ".hpp" ".cpp" _name "${_name}")
    set(_src ${CMAKE_CURRENT_BINARY_DIR}/header_check/${_name})
    set(_text "#include <${_rel}>\n#include <${_rel}>\n")
    if(EXISTS ${_src})
      file(READ ${_src} _old)
    else()
      set(_old "")
    endif()
    if(NOT _old STREQUAL _text)
      file(WRITE ${_src} "${_text}")
    endif()
    list(APPEND _sources ${_src})
  endforeach()
  add_library(${target} OBJECT ${_sources})
  target_link_libraries(${target} PRIVATE roadrunner roadrunner_internal)
endfunction()
