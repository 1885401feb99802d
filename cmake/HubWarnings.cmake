# Warnings are errors for the project's own code. Generated protobuf/gRPC code is built
# without -Werror (see protos/CMakeLists.txt) because its style is not ours to fix.
set(HUB_WARNING_FLAGS
    -Wall -Wextra -Wpedantic -Werror
    -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual
    -Wnull-dereference -Wimplicit-fallthrough -Wformat=2 -Wmissing-declarations)

# hub_target_defaults(<target>) applies the project's warning policy to a target.
function(hub_target_defaults target)
  target_compile_options(${target} PRIVATE ${HUB_WARNING_FLAGS})
endfunction()

# hub_library(NAME SRCS ... DEPS ...) declares one component library.
function(hub_library name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SRCS})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  hub_target_defaults(${name})
endfunction()

# hub_test(NAME SRCS ... DEPS ... [LABELS ...]) declares a GoogleTest binary registered with ctest.
function(hub_test name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SRCS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gmock GTest::gtest_main)
  hub_target_defaults(${name})
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  gtest_discover_tests(${name}
    PROPERTIES LABELS "${ARG_LABELS}" ENVIRONMENT "HUB_BIN_DIR=${CMAKE_BINARY_DIR}/bin"
    DISCOVERY_TIMEOUT 60)
endfunction()
