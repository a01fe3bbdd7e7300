#!/usr/bin/env bash
# The libFuzzer targets of test/fuzz (docs/reliability.md), in their own
# sanitizer build dir build-fuzz/ (clang-22, ASan + UBSan; the runtime and
# the compiler's config reader, not the MLIR compiler):
#
#   scripts/fuzz.sh build              configure and build build-fuzz/
#   scripts/fuzz.sh TARGET SECONDS     fuzz one target (bitt, tokenizer,
#                                      json_depth, config) from its seeds;
#                                      new inputs go to build-fuzz/corpus/,
#                                      a crash to build-fuzz/crash-* (add it
#                                      to test/fuzz/crashers/TARGET/ once fixed)
#   scripts/fuzz.sh replay             run every seed and every past crasher
#                                      once through its target (the README's
#                                      test command does this)
set -euo pipefail
cd "$(dirname "$0")/.."
TARGETS=(bitt tokenizer json_depth config)

build() {
  if [ ! -f build-fuzz/build.ninja ]; then
    flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fsanitize=fuzzer-no-link -fno-omit-frame-pointer -g"
    cmake -G Ninja -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
      -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
      -DCMAKE_EXE_LINKER_FLAGS="-fuse-ld=lld-22" \
      -DBITTTT_BUILD_COMPILER=OFF -DBITTTT_BUILD_TESTS=OFF -DBITTTT_FUZZ=ON >/dev/null
  fi
  cmake --build build-fuzz --target "${TARGETS[@]/#/fuzz_}"
}

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:symbolize=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

case "${1:-}" in
  build) build ;;
  replay)
    build >/dev/null
    status=0
    for t in "${TARGETS[@]}"; do
      files=(test/fuzz/corpus/$t/* test/fuzz/crashers/$t/*)
      files=($(ls -d "${files[@]}" 2>/dev/null || true))
      if [ ${#files[@]} -eq 0 ]; then echo "fuzz_$t: no corpus"; status=1; continue; fi
      if build-fuzz/bin/fuzz_$t -runs=1 "${files[@]}" >build-fuzz/replay-$t.log 2>&1; then
        echo "fuzz_$t: ${#files[@]} inputs replayed, no finding"
      else
        echo "fuzz_$t: FINDING (build-fuzz/replay-$t.log)"; tail -30 build-fuzz/replay-$t.log
        status=1
      fi
    done
    exit $status ;;
  "")
    sed -n '2,14p' "$0"; exit 2 ;;
  *)
    t=$1; secs=${2:?seconds}
    [ -d test/fuzz/corpus/$t ] || { echo "unknown target '$t' (${TARGETS[*]})"; exit 2; }
    build >/dev/null
    mkdir -p build-fuzz/corpus/$t
    cd build-fuzz
    exec bin/fuzz_$t -max_total_time="$secs" -print_final_stats=1 -rss_limit_mb=4096 \
      -max_len=1048576 corpus/$t ../test/fuzz/corpus/$t ;;
esac
