# Helpers every folder's CMakeLists.txt uses (abseil's absl_cc_library shape).
#
#   qg_cc_library(NAME qg_foo SRCS a.cc b.cc DEPS qg_base [TORCH] [PLAIN a.cc])
#   qg_cc_test(NAME qg_foo_tests SRCS a_test.cc DEPS qg_foo LABELS unit [TORCH])
#
# TORCH links LibTorch and reuses the one shared precompiled <torch/torch.h>:
# parsing that header costs ~19 s per translation unit here, so only targets
# that need it say TORCH. PLAIN lists sources of a TORCH target that do not
# touch LibTorch; they skip the precompiled header and build in a second.
#
# TORCH targets, and the precompiled header, compile with OpenMP:
# at::parallel_for is a header template that splits its range over
# LibTorch's OpenMP threads only where the calling file is compiled with
# OpenMP, and silently runs it all on the calling thread otherwise.

add_library(qg_warnings INTERFACE)
add_library(qg::warnings ALIAS qg_warnings)
target_compile_options(qg_warnings INTERFACE -Wall -Wextra -Wshadow -Wno-unused-parameter -Wno-missing-field-initializers
                       # GCC 12 -O3 false positives inside libstdc++ (GCC bugs 105329,
                       # 106199, 80635 for std::optional) and on LibTorch's UndefinedTensorImpl singleton
                       -Wno-restrict -Wno-array-bounds -Wno-stringop-overflow -Wno-free-nonheap-object
                       -Wno-maybe-uninitialized
                       $<$<BOOL:${QG_WERROR}>:-Werror>)
if(QG_SANITIZE)
  target_compile_options(qg_warnings INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer
                         -fno-sanitize-recover=undefined)
  target_link_options(qg_warnings INTERFACE -fsanitize=address,undefined)
endif()

function(qg_setup_torch_pch)
  file(WRITE ${PROJECT_BINARY_DIR}/generated/torch_pch.cc "// anchor for the shared LibTorch PCH\n")
  add_library(qg_torch_pch OBJECT ${PROJECT_BINARY_DIR}/generated/torch_pch.cc)
  target_link_libraries(qg_torch_pch PUBLIC ${TORCH_LIBRARIES} OpenMP::OpenMP_CXX qg::warnings)
  target_precompile_headers(qg_torch_pch PRIVATE <torch/torch.h>)
endfunction()

function(_qg_apply_common target torch)
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR}/generated)
  target_link_libraries(${target} PRIVATE qg::warnings)
  if(torch)
    target_link_libraries(${target} PUBLIC ${TORCH_LIBRARIES} OpenMP::OpenMP_CXX)
    target_precompile_headers(${target} REUSE_FROM qg_torch_pch)
  endif()
endfunction()

function(qg_cc_library)
  cmake_parse_arguments(QG "TORCH" "NAME" "SRCS;DEPS;PLAIN" ${ARGN})
  add_library(${QG_NAME} STATIC ${QG_SRCS})
  _qg_apply_common(${QG_NAME} ${QG_TORCH})
  if(QG_PLAIN)
    set_source_files_properties(${QG_PLAIN} TARGET_DIRECTORY ${QG_NAME} PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
  endif()
  target_link_libraries(${QG_NAME} PUBLIC ${QG_DEPS})
endfunction()

function(qg_cc_test)
  if(NOT QG_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(QG "TORCH" "NAME;TIMEOUT" "SRCS;DEPS;LABELS;PLAIN" ${ARGN})
  if(NOT QG_TIMEOUT)
    set(QG_TIMEOUT 300)
  endif()
  add_executable(${QG_NAME} ${QG_SRCS})
  _qg_apply_common(${QG_NAME} ${QG_TORCH})
  if(QG_PLAIN)
    set_source_files_properties(${QG_PLAIN} TARGET_DIRECTORY ${QG_NAME} PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
  endif()
  target_link_libraries(${QG_NAME} PRIVATE ${QG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  gtest_discover_tests(${QG_NAME}
    DISCOVERY_MODE PRE_TEST
    # Listing a LibTorch test binary's tests loads libtorch_cpu: 3.5 s warm here,
    # past CMake's 5 s default on a cold page cache (a clean CI machine).
    DISCOVERY_TIMEOUT 120
    WORKING_DIRECTORY ${PROJECT_BINARY_DIR}
    # Tests find the source and build trees through build_info.h (kSourceDir,
    # kBinaryDir); a list-valued ENVIRONMENT does not survive gtest discovery.
    PROPERTIES LABELS "${QG_LABELS}" TIMEOUT ${QG_TIMEOUT})
endfunction()
