# Install rules and the CMake package: find_package(roadrunner) gives the
# imported targets roadrunner::core (protocol core, no CAF) and
# roadrunner::roadrunner (the CAF layer; links core, CAF, OpenSSL, nghttp2).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(ROADRUNNER_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/roadrunner")

install(TARGETS roadrunner_core roadrunner
        EXPORT roadrunnerTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
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
        DESTINATION ${ROADRUNNER_CMAKE_DIR})
