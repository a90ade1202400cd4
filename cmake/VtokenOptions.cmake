# Build options shared by every target: warnings, sanitizers, fuzzing and coverage.
option(VTOKEN_SANITIZE "Build everything with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
option(VTOKEN_FUZZ "Build the libFuzzer targets (needs clang)" OFF)
option(VTOKEN_COVERAGE "Instrument for line coverage (gcov)" OFF)
option(VTOKEN_TSAN "Build everything with ThreadSanitizer (scripts/tsan.sh)" OFF)
if(VTOKEN_TSAN AND (VTOKEN_SANITIZE OR VTOKEN_FUZZ))
  message(FATAL_ERROR "VTOKEN_TSAN cannot be combined with VTOKEN_SANITIZE or VTOKEN_FUZZ "
                      "(ThreadSanitizer and AddressSanitizer exclude each other)")
endif()

add_compile_options(-Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes
                    -Wmissing-prototypes -Wvla -fno-common)
# glibc feature macros for flock, fsync, getopt_long, clock_gettime, explicit_bzero.
add_compile_definitions(_GNU_SOURCE)

if(VTOKEN_SANITIZE)
  set(_san -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  add_compile_options(${_san})
  add_link_options(${_san})
endif()

if(VTOKEN_TSAN)
  set(_tsan -fsanitize=thread -fno-omit-frame-pointer)
  add_compile_options(${_tsan})
  add_link_options(${_tsan})
endif()

if(VTOKEN_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "VTOKEN_FUZZ=ON needs clang: configure with -DCMAKE_C_COMPILER=clang")
  endif()
  # Everything is instrumented for coverage feedback; only the fuzz targets link libFuzzer's main.
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

if(VTOKEN_COVERAGE)
  add_compile_options(--coverage -O0)
  add_link_options(--coverage)
endif()
