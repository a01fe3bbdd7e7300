#!/usr/bin/env bash
# The libFuzzer targets of test/fuzz (docs/reliability.md), built in the
# sanitizer build dir build-asan/ (scripts/sanitize.sh: clang-22, ASan +
# UBSan + LeakSanitizer):
#
#   scripts/fuzz.sh build              configure build-asan/, build the targets
#   scripts/fuzz.sh model              compile test/fuzz/model into the model
#                                      the session and checkpoint targets load
#                                      ($BITTTT_FUZZ_MODEL); prints its path
#   scripts/fuzz.sh TARGET SECONDS     fuzz one target from its seeds (bitt,
#                                      tokenizer, json_depth, config, tokens,
#                                      checkpoint, session, mlir); new inputs
#                                      go to build-asan/fuzz/corpus/TARGET, a
#                                      crash to build-asan/fuzz/crash-* (add it
#                                      to test/fuzz/crashers/TARGET/ once fixed)
#   scripts/fuzz.sh replay             run every seed and every past crasher
#                                      once through its target (pytest's
#                                      test_fuzz_corpora.py does the same)
set -euo pipefail
cd "$(dirname "$0")/.."
TARGETS=(bitt tokenizer json_depth config tokens checkpoint session mlir)
source scripts/sanitizer-env.sh

# Longest input per target: a little above the largest seed, so that runs
# spend their time on mutations of real files rather than on growth.
declare -A MAX_LEN=([bitt]=262144 [tokenizer]=16384 [json_depth]=4096
  [config]=4096 [tokens]=4096 [checkpoint]=262144 [session]=65536 [mlir]=65536)

build() {
  bash scripts/sanitize.sh configure
  cmake --build $BUILD --target "${TARGETS[@]/#/fuzz_}" bitttt-compile
}

# The model the session and checkpoint targets (and their seeds) use: the
# committed tiny checkpoint, compiled with training so that a trainer can
# load checkpoints into it. Its identity (and so the seeds' validity) depends
# on the config and weights only, not on the compiler that built it.
model() {
  local out=$BUILD/fuzz/model.bitt
  mkdir -p $BUILD/fuzz
  if [ ! -f $out ] || [ $BUILD/bin/bitttt-compile -nt $out ] ||
     [ test/fuzz/model/model.safetensors -nt $out ]; then
    ASAN_OPTIONS=detect_leaks=0 $BUILD/bin/bitttt-compile test/fuzz/model -o $out \
      --target=x86-64-v3 --train --batch=2 --context=8 --prefill-chunk=4 --jobs=1 >&2
  fi
  echo "$PWD/$out"
}

# libFuzzer's runtime would come before the ASan runtime (sanitizer-env.sh).
export LD_PRELOAD=$ASAN_RT

case "${1:-}" in
  build) build ;;
  model) model ;;
  replay)
    build >/dev/null
    export BITTTT_FUZZ_MODEL=$(model)
    status=0
    for t in "${TARGETS[@]}"; do
      files=(test/fuzz/corpus/$t/* test/fuzz/crashers/$t/*)
      files=($(ls -d "${files[@]}" 2>/dev/null || true))
      if [ ${#files[@]} -eq 0 ]; then echo "fuzz_$t: no corpus"; status=1; continue; fi
      if $BUILD/bin/fuzz_$t -runs=1 "${files[@]}" >$BUILD/fuzz/replay-$t.log 2>&1; then
        echo "fuzz_$t: ${#files[@]} inputs replayed, no finding"
      else
        echo "fuzz_$t: FINDING ($BUILD/fuzz/replay-$t.log)"; tail -30 $BUILD/fuzz/replay-$t.log
        status=1
      fi
    done
    exit $status ;;
  "")
    sed -n '2,18p' "$0"; exit 2 ;;
  *)
    t=$1; secs=${2:?seconds}
    [ -d test/fuzz/corpus/$t ] || { echo "unknown target '$t' (${TARGETS[*]})"; exit 2; }
    build >/dev/null
    export BITTTT_FUZZ_MODEL=$(model)
    mkdir -p $BUILD/fuzz/corpus/$t
    cd $BUILD/fuzz
    exec ../bin/fuzz_$t -max_total_time="$secs" -print_final_stats=1 -rss_limit_mb=4096 \
      -max_len="${MAX_LEN[$t]}" -timeout=30 corpus/$t ../../test/fuzz/corpus/$t ;;
esac
