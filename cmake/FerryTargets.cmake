# Helpers that give every Ferry target the same flags.
#
#   ferry_library(NAME SOURCES ... DEPS ...)       static library ferry_NAME
#   ferry_executable(NAME SOURCES ... DEPS ...)    program in <build>/bin
#   ferry_test(NAME SOURCES ... DEPS ...)          GoogleTest binary registered with CTest
#   ferry_fuzzer(NAME SOURCE file DEPS ... CORPUS dir)
#       With FERRY_FUZZ (clang): a libFuzzer binary fuzz_NAME.
#       Always (when tests are on): fuzz_NAME_replay, which runs every file of the corpus
#       through the same entry point as an ordinary CTest test.

function(ferry_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(ferry_${name} STATIC ${ARG_SOURCES})
  ferry_apply_options(ferry_${name})
  target_link_libraries(ferry_${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
endfunction()

function(ferry_executable name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  ferry_apply_options(${name})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
endfunction()

function(ferry_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  ferry_apply_options(${name})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE
      FERRY_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
      FERRY_SHARED_DIR="${PROJECT_SOURCE_DIR}/../shared"
      FERRY_BINARY_DIR="${CMAKE_BINARY_DIR}")
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  add_test(NAME ${name} COMMAND ${name} --gtest_brief=1)
  set_tests_properties(${name} PROPERTIES TIMEOUT ${ARG_TIMEOUT} LABELS "unit;${ARG_LABELS}")
endfunction()

function(ferry_fuzzer name)
  cmake_parse_arguments(ARG "" "SOURCE;CORPUS" "DEPS" ${ARGN})
  if(FERRY_FUZZ)
    add_executable(fuzz_${name} ${ARG_SOURCE})
    ferry_apply_options(fuzz_${name})
    target_compile_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
    target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
    target_link_libraries(fuzz_${name} PRIVATE ${ARG_DEPS})
    set_target_properties(fuzz_${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
  endif()
  if(FERRY_BUILD_TESTS)
    add_executable(fuzz_${name}_replay ${ARG_SOURCE} ${PROJECT_SOURCE_DIR}/tests/fuzz/replay_main.cc)
    ferry_apply_options(fuzz_${name}_replay)
    target_link_libraries(fuzz_${name}_replay PRIVATE ${ARG_DEPS})
    set_target_properties(fuzz_${name}_replay PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
    add_test(NAME fuzz_${name}_replay COMMAND fuzz_${name}_replay ${ARG_CORPUS})
    set_tests_properties(fuzz_${name}_replay PROPERTIES TIMEOUT 300 LABELS "fuzz-replay")
  endif()
endfunction()
