# The API reference (issue 13 item 7): `cmake --build build --target docs`
# runs Doxygen (Debian `doxygen`) over the installed public headers into
# build/docs/html. Defined only when Doxygen is found, never part of ALL.
# Undocumented public symbols and documentation errors fail it
# (docs/Doxyfile.in: WARN_IF_UNDOCUMENTED, WARN_AS_ERROR);
# the warnings are printed.
find_package(Doxygen QUIET)
if(DOXYGEN_FOUND)
  set(ROADRUNNER_DOCS_OUT ${PROJECT_BINARY_DIR}/docs)
  configure_file(${PROJECT_SOURCE_DIR}/docs/Doxyfile.in
                 ${ROADRUNNER_DOCS_OUT}/Doxyfile @ONLY)
  file(GLOB_RECURSE _roadrunner_public_headers CONFIGURE_DEPENDS
       ${PROJECT_SOURCE_DIR}/libroadrunner/include/roadrunner/*.hpp
       ${PROJECT_SOURCE_DIR}/actors/include/roadrunner/*.hpp)
  add_custom_target(docs
    COMMAND ${DOXYGEN_EXECUTABLE} ${ROADRUNNER_DOCS_OUT}/Doxyfile
    WORKING_DIRECTORY ${ROADRUNNER_DOCS_OUT}
    DEPENDS ${_roadrunner_public_headers}
            ${PROJECT_SOURCE_DIR}/docs/Doxyfile.in
    COMMENT "API reference (Doxygen): ${ROADRUNNER_DOCS_OUT}/html/index.html"
    VERBATIM)
endif()
