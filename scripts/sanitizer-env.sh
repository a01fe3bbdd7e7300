# Sourced by scripts/sanitize.sh and scripts/fuzz.sh: the sanitizer build dir
# and the environment every sanitized process runs in (docs/reliability.md,
# "Sanitizers"). Leaks are reported for our own executables (unit tests,
# tools, fuzzers); where Python is the main program (ctypes + torch) LSan is
# off, because CPython exits with intentional leaks.
BUILD=build-asan
# The build links the shared ASan runtime (-shared-libsan, rpath to it). A
# process whose main program is not instrumented (Python) or whose runtime
# would not come first in the library list (libFuzzer's) preloads it.
RTDIR=$(clang-22 -print-runtime-dir)
ASAN_RT=$RTDIR/libclang_rt.asan-x86_64.so
# allow_user_poisoning=0: LLVM's BumpPtrAllocator poisons each new slab in
# code compiled with ASan (our inlined copies of its templates) and
# unpoisons what it hands out, but Debian's uninstrumented libMLIR, sharing
# those allocators (the context's storage uniquer), never unpoisons: a slab
# that our code starts is then reported as use-after-poison when libMLIR
# allocates from it (fuzz_mlir did, at random inputs). Nothing of ours
# poisons memory by hand.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:halt_on_error=1:symbolize=1:detect_stack_use_after_return=0:strict_string_checks=1:check_initialization_order=1:allow_user_poisoning=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$PWD/test/sanitizers/lsan.supp:print_suppressions=0"
