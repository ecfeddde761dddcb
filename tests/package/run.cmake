# Package test: roadrunner as a user gets it from `cmake --install`.
#  1. static: install this build tree, then build and run the consumer with
#     find_package(roadrunner) (it sets no C++ standard) and with pkg-config;
#  2. shared: build the libraries again with BUILD_SHARED_LIBS=ON, check the
#     SONAME, and build and run both consumers against that install.
# Inputs: BUILD_DIR, SOURCE_DIR, WORK_DIR. The compiler and build type come
# from BUILD_DIR's cache.
load_cache("${BUILD_DIR}" READ_WITH_PREFIX outer_
           CMAKE_CXX_COMPILER CMAKE_CXX_COMPILER_LAUNCHER CMAKE_BUILD_TYPE
           CMAKE_INSTALL_LIBDIR)
set(libdir "${outer_CMAKE_INSTALL_LIBDIR}")
set(compiler_args "-DCMAKE_CXX_COMPILER=${outer_CMAKE_CXX_COMPILER}"
                  "-DCMAKE_BUILD_TYPE=${outer_CMAKE_BUILD_TYPE}")
if(outer_CMAKE_CXX_COMPILER_LAUNCHER)
  list(APPEND compiler_args
       "-DCMAKE_CXX_COMPILER_LAUNCHER=${outer_CMAKE_CXX_COMPILER_LAUNCHER}")
endif()
find_program(PKG_CONFIG pkg-config REQUIRED)
find_program(OBJDUMP objdump REQUIRED)

function(run step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                  ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${step} failed (${rc}):\n${out}\n${err}")
  endif()
  set(out "${out}" PARENT_SCOPE)
endfunction()

# The consumer's own output proves it started a listener, got a JSON answer
# from it over a socket, and stopped it.
function(check_consumer label)
  run("running the ${label}" ${ARGN})
  message(STATUS "${label}: ${out}")
  if(NOT out MATCHES "consumer listened on port [1-9][0-9]*, GET / -> {\"ok\":true}")
    message(FATAL_ERROR "the ${label} printed: ${out}")
  endif()
endfunction()

# Builds and runs both consumers against the install in `prefix`.
function(consume kind prefix)
  set(dir "${WORK_DIR}/${kind}")
  run("configuring the ${kind} CMake consumer"
      ${CMAKE_COMMAND} -S "${SOURCE_DIR}/tests/package/consumer"
      -B "${dir}/consumer" "-DCMAKE_PREFIX_PATH=${prefix}" ${compiler_args})
  run("building the ${kind} CMake consumer"
      ${CMAKE_COMMAND} --build "${dir}/consumer")
  check_consumer("${kind} CMake consumer" "${dir}/consumer/consumer")

  set(ENV{PKG_CONFIG_PATH} "${prefix}/${libdir}/pkgconfig")
  run("pkg-config (${kind})" ${PKG_CONFIG} --cflags --libs roadrunner)
  string(STRIP "${out}" flags)
  separate_arguments(flags UNIX_COMMAND "${flags}")
  run("building the ${kind} pkg-config consumer"
      ${outer_CMAKE_CXX_COMPILER} "${SOURCE_DIR}/tests/package/consumer/main.cpp"
      ${flags} -o "${dir}/consumer-pc")
  check_consumer("${kind} pkg-config consumer" ${CMAKE_COMMAND} -E env
                 "LD_LIBRARY_PATH=${prefix}/${libdir}" "${dir}/consumer-pc")
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")

# 1. Static (this build tree).
run("cmake --install (static)" ${CMAKE_COMMAND} --install "${BUILD_DIR}"
    --prefix "${WORK_DIR}/static/prefix")
if(NOT EXISTS "${WORK_DIR}/static/prefix/${libdir}/libroadrunner.a")
  message(FATAL_ERROR "no static libroadrunner.a installed")
endif()
consume(static "${WORK_DIR}/static/prefix")

# 2. Shared: the libraries only, built again.
run("configuring the shared build"
    ${CMAKE_COMMAND} -S "${SOURCE_DIR}" -B "${WORK_DIR}/shared/build"
    -DBUILD_SHARED_LIBS=ON -DROADRUNNER_BUILD_TESTS=OFF
    -DROADRUNNER_BUILD_EXAMPLES=OFF ${compiler_args})
run("building the shared libraries"
    ${CMAKE_COMMAND} --build "${WORK_DIR}/shared/build" -j2)
run("cmake --install (shared)" ${CMAKE_COMMAND} --install
    "${WORK_DIR}/shared/build" --prefix "${WORK_DIR}/shared/prefix")
set(shared_lib "${WORK_DIR}/shared/prefix/${libdir}")
foreach(name roadrunner roadrunner_core)
  file(GLOB real "${shared_lib}/lib${name}.so.*.*.*")
  if(NOT real OR NOT EXISTS "${shared_lib}/lib${name}.so")
    message(FATAL_ERROR "no versioned lib${name}.so installed")
  endif()
  run("objdump lib${name}" ${OBJDUMP} -p ${real})
  if(NOT out MATCHES "SONAME +lib${name}\\.so\\.[0-9]+\\.[0-9]+\n")
    message(FATAL_ERROR "lib${name}: no versioned SONAME:\n${out}")
  endif()
endforeach()
consume(shared "${WORK_DIR}/shared/prefix")
run("objdump consumer" ${OBJDUMP} -p "${WORK_DIR}/shared/consumer/consumer")
if(NOT out MATCHES "NEEDED +libroadrunner\\.so\\.[0-9]+\\.[0-9]+\n")
  message(FATAL_ERROR "the shared consumer does not need libroadrunner.so.X.Y")
endif()
