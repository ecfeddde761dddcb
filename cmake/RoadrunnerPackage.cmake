# Install rules and the packages:
# - CMake: find_package(roadrunner) gives the imported targets
#   roadrunner::core (protocol core, no CAF), roadrunner::roadrunner (the CAF
#   layer; links core, CAF, OpenSSL, nghttp2) and, when nlohmann-json was
#   found at build time, roadrunner::json (<roadrunner/json.hpp>). Every
#   target carries cxx_std_20, and the package config finds the dependencies
#   (CAF through the installed FindCAF.cmake).
# - pkg-config: roadrunner.pc (`pkg-config --cflags --libs roadrunner`, with
#   --static for static libraries).
# BUILD_SHARED_LIBS=ON installs versioned shared libraries
# (libroadrunner.so.X.Y, SONAME ROADRUNNER_SOVERSION) instead of archives.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(ROADRUNNER_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/roadrunner")

set(_rr_targets roadrunner_core roadrunner)
set(ROADRUNNER_WITH_JSON OFF)
if(TARGET roadrunner_json)
  list(APPEND _rr_targets roadrunner_json)
  set(ROADRUNNER_WITH_JSON ON)
endif()
install(TARGETS ${_rr_targets}
        EXPORT roadrunnerTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY libroadrunner/include/roadrunner actors/include/roadrunner
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT roadrunnerTargets NAMESPACE roadrunner::
        DESTINATION ${ROADRUNNER_CMAKE_DIR})
configure_package_config_file(cmake/roadrunnerConfig.cmake.in
  "${CMAKE_CURRENT_BINARY_DIR}/roadrunnerConfig.cmake"
  INSTALL_DESTINATION ${ROADRUNNER_CMAKE_DIR})
write_basic_package_version_file(
  "${CMAKE_CURRENT_BINARY_DIR}/roadrunnerConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion)
install(FILES "${CMAKE_CURRENT_BINARY_DIR}/roadrunnerConfig.cmake"
              "${CMAKE_CURRENT_BINARY_DIR}/roadrunnerConfigVersion.cmake"
              cmake/FindCAF.cmake cmake/FindNghttp2.cmake
              cmake/FindBrotli.cmake cmake/FindZstd.cmake
        DESTINATION ${ROADRUNNER_CMAKE_DIR})

# roadrunner.pc: relocatable (paths relative to the .pc file), so an install
# with `cmake --install --prefix` elsewhere still points at itself. CAF 0.17
# (Debian) ships no .pc file, so its libraries are named directly.
file(RELATIVE_PATH ROADRUNNER_PC_PREFIX
     "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
string(REGEX REPLACE "/$" "" ROADRUNNER_PC_PREFIX "${ROADRUNNER_PC_PREFIX}")
get_filename_component(ROADRUNNER_PC_CAF_LIBDIR "${CAF_CORE_LIBRARY}" DIRECTORY)
set(ROADRUNNER_PC_CAF_CFLAGS "")
if(NOT CAF_INCLUDE_DIR STREQUAL "/usr/include")
  set(ROADRUNNER_PC_CAF_CFLAGS " -I${CAF_INCLUDE_DIR}")
endif()
# Static archives need OpenSSL and nghttp2 on every link line; shared
# libraries carry them as their own dependencies.
if(BUILD_SHARED_LIBS)
  set(ROADRUNNER_PC_REQUIRES "Requires.private")
else()
  set(ROADRUNNER_PC_REQUIRES "Requires")
endif()
configure_file(cmake/roadrunner.pc.in
               "${CMAKE_CURRENT_BINARY_DIR}/roadrunner.pc" @ONLY)
install(FILES "${CMAKE_CURRENT_BINARY_DIR}/roadrunner.pc"
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
