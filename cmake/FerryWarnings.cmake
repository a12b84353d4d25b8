# Compiler warnings and sanitizers for Ferry's own targets (never for third-party code).
set(FERRY_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align
    -Wimplicit-fallthrough -Wformat=2)
if(FERRY_WERROR)
  list(APPEND FERRY_WARNINGS -Werror)
endif()

set(FERRY_SANITIZER_FLAGS "")
if(FERRY_SANITIZE)
  set(FERRY_SANITIZER_FLAGS -fsanitize=address,undefined -fno-omit-frame-pointer
      -fno-sanitize-recover=undefined)
endif()

function(ferry_apply_options target)
  target_compile_options(${target} PRIVATE ${FERRY_WARNINGS} ${FERRY_SANITIZER_FLAGS})
  target_link_options(${target} PRIVATE ${FERRY_SANITIZER_FLAGS})
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR})
endfunction()
