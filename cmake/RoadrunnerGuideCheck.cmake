# roadrunner_guide_check(TARGET) -- the code of the user guide stays true
# (issue 13 item 7). Every ```cpp block of docs/guide.md is extracted at
# configure time (the guide is a configure dependency) into its own
# translation unit, with a #line directive so that a compiler error points
# at the guide, and built with our warnings against the `roadrunner` and
# `roadrunner_json` targets: a snippet that no longer compiles breaks the
# build. The blocks go into the object library TARGET (compiled, not
# linked), except complete test programs (a block that includes
# <roadrunner/testing.hpp> and defines main), which become executables
# TARGET_test_N, each run as a ctest test of the same name.
#
# The guide is read whole with file(READ) and cut with string(FIND) /
# string(SUBSTRING) (as the README extraction in tests/CMakeLists.txt does):
# file(STRINGS) and unquoted lists would split the code on ';'.
function(roadrunner_guide_check target)
  set(_guide ${PROJECT_SOURCE_DIR}/docs/guide.md)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_guide})
  file(READ ${_guide} _rest)
  set(_sources)
  set(_line 1) # line number of the first character of _rest
  set(_n 0)
  while(TRUE)
    string(FIND "${_rest}" "```cpp\n" _at)
    if(_at EQUAL -1)
      break()
    endif()
    math(EXPR _at "${_at} + 7")
    string(SUBSTRING "${_rest}" 0 ${_at} _skipped)
    string(SUBSTRING "${_rest}" ${_at} -1 _rest)
    string(REGEX MATCHALL "\n" _newlines "${_skipped}")
    list(LENGTH _newlines _count)
    math(EXPR _line "${_line} + ${_count}")
    string(FIND "${_rest}" "\n```" _end)
    if(_end EQUAL -1)
      message(FATAL_ERROR "${_guide}:${_line}: unterminated ```cpp block")
    endif()
    string(SUBSTRING "${_rest}" 0 ${_end} _code)
    math(EXPR _n "${_n} + 1")
    set(_src ${CMAKE_CURRENT_BINARY_DIR}/guide/snippet_${_n}.cpp)
    file(CONFIGURE OUTPUT ${_src}
         CONTENT "#line ${_line} \"${_guide}\"\n${_code}\n" @ONLY)
    string(FIND "${_code}" "#include <roadrunner/testing.hpp>" _testing)
    string(FIND "${_code}" "int main(" _main)
    if(NOT _testing EQUAL -1 AND NOT _main EQUAL -1)
      set(_exe ${target}_test_${_n})
      add_executable(${_exe} ${_src})
      target_link_libraries(${_exe} PRIVATE roadrunner roadrunner_json
                            roadrunner_internal)
      add_test(NAME ${_exe} COMMAND ${_exe})
      set_tests_properties(${_exe} PROPERTIES TIMEOUT 60)
    else()
      list(APPEND _sources ${_src})
    endif()
    # Past the block: count its lines, keep what follows the closing fence.
    string(REGEX MATCHALL "\n" _newlines "${_code}")
    list(LENGTH _newlines _count)
    math(EXPR _line "${_line} + ${_count} + 1")
    math(EXPR _end "${_end} + 1")
    string(SUBSTRING "${_rest}" ${_end} -1 _rest)
  endwhile()
  if(NOT _sources)
    message(FATAL_ERROR "${_guide}: no ```cpp block found")
  endif()
  add_library(${target} OBJECT ${_sources})
  target_link_libraries(${target} PRIVATE roadrunner roadrunner_json
                        roadrunner_internal)
endfunction()
