#!/usr/bin/env bash
# The sanitizer build, build-asan/ (docs/reliability.md "Sanitizers"): the
# whole tree — runtime, compiler, tools, unit tests and the libFuzzer
# targets — built by clang-22 with AddressSanitizer + UndefinedBehavior-
# Sanitizer (+ LeakSanitizer) and libFuzzer's coverage instrumentation.
# Debian's libLLVM/libMLIR stay uninstrumented; compiled artifacts are
# machine code the runtime maps and are not instrumented either.
#
#   scripts/sanitize.sh configure configure build-asan/ (once)
#   scripts/sanitize.sh build     configure (once) and build build-asan/
#   scripts/sanitize.sh test      build, then the whole suite (lit, gtest,
#                                 pytest) against build-asan/; reports go to
#                                 build/test-results/asan-*.xml, which
#                                 scripts/test.sh sums into its closing line
#   scripts/sanitize.sh env CMD   run CMD with the sanitizer environment
#                                 (ASAN_OPTIONS, the ASan runtime preloaded)
set -uo pipefail
cd "$(dirname "$0")/.."

source scripts/sanitizer-env.sh

configure() {
  [ -f $BUILD/build.ninja ] && return 0
  # One ASan runtime for every process (-shared-libsan): Python loads the
  # instrumented libbitttt.so through ctypes, which needs the runtime
  # preloaded, and the tools it starts inherit LD_PRELOAD.
  local san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
  san+=" -fsanitize=fuzzer-no-link -fno-omit-frame-pointer -shared-libsan"
  local link="-fuse-ld=lld-22 -shared-libsan -Wl,-rpath,$RTDIR"
  cmake -G Ninja -S . -B $BUILD -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DCMAKE_C_FLAGS="$san" -DCMAKE_CXX_FLAGS="$san" \
    -DCMAKE_C_FLAGS_RELEASE="-O0 -gline-tables-only -DNDEBUG" \
    -DCMAKE_CXX_FLAGS_RELEASE="-O0 -gline-tables-only -DNDEBUG" \
    -DCMAKE_EXE_LINKER_FLAGS="$link" -DCMAKE_SHARED_LINKER_FLAGS="$link" \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit \
    -DBITTTT_FUZZ=ON >/dev/null
}

case "${1:-}" in
  configure)
    configure ;;
  build)
    configure && cmake --build $BUILD ;;
  env)
    shift; exec "$@" ;;
  test)
    configure && cmake --build $BUILD || { echo "sanitizer build failed"; exit 1; }
    results=build/test-results
    mkdir -p $results
    rm -f $results/asan-*.xml
    # The fuzz targets' model (test_fuzz_corpora.py loads it); made before
    # pytest's workers start, so that no two make it at once.
    bash scripts/fuzz.sh model >/dev/null
    echo "== asan lit"
    /usr/lib/llvm-22/bin/lit -sv $BUILD/test --xunit-xml-output $results/asan-lit.xml
    echo "== asan gtest (LeakSanitizer on)"
    $BUILD/bin/bitttt-runtime-tests --gtest_brief=1 --gtest_output="xml:$results/asan-gtest.xml"
    echo "== asan pytest"
    BITTTT_BUILD=$PWD/$BUILD LD_PRELOAD=$ASAN_RT \
      ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0:alloc_dealloc_mismatch=0" \
      PYTHONPATH=python .venv/bin/python -m pytest -q python/tests -p no:cacheprovider \
      -n "$(nproc)" --dist loadfile --junitxml=$results/asan-pytest.xml
    exit 0 ;;
  *)
    sed -n '2,16p' "$0"; exit 2 ;;
esac
