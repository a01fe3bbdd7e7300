"""Every seed and every past crasher of test/fuzz/ replayed through its
libFuzzer target (ASan + UBSan + LeakSanitizer build in build-asan/, which
scripts/test.sh builds with `scripts/sanitize.sh build`). The session and
checkpoint targets load the model `scripts/fuzz.sh model` compiles. A finding — a crash,
a sanitizer report, a leak — fails the case; long runs are
`scripts/fuzz.sh TARGET SECONDS` (docs/reliability.md)."""

import glob
import os
import subprocess

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FUZZ = os.path.join(REPO, "test", "fuzz")
BIN = os.path.join(os.environ.get("BITTTT_FUZZ_BUILD", os.path.join(REPO, "build-asan")), "bin")
# The sanitizer build links the shared ASan runtime, which must come first.
ASAN_RT = subprocess.run(["clang-22", "-print-runtime-dir"], capture_output=True,
                         text=True).stdout.strip() + "/libclang_rt.asan-x86_64.so"
TARGETS = ("bitt", "tokenizer", "json_depth", "config", "tokens", "checkpoint", "session",
           "mlir")
CASES = [(t, p) for t in TARGETS
         for p in sorted(glob.glob(os.path.join(FUZZ, "corpus", t, "*")) +
                         glob.glob(os.path.join(FUZZ, "crashers", t, "*")))]


def test_every_target_has_seeds():
    for t in TARGETS:
        assert any(c[0] == t for c in CASES), f"no seeds for fuzz_{t}"


@pytest.fixture(scope="module")
def fuzz_model():
    proc = subprocess.run(["bash", os.path.join(REPO, "scripts", "fuzz.sh"), "model"],
                          capture_output=True, text=True, timeout=600,
                          env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.strip()


@pytest.mark.parametrize("target,path", CASES,
                         ids=[f"{t}/{os.path.basename(p)}" for t, p in CASES])
def test_replay(target, path, fuzz_model):
    exe = os.path.join(BIN, f"fuzz_{target}")
    assert os.path.exists(exe), f"{exe} not built: run scripts/fuzz.sh build"
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:allow_user_poisoning=0",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1",
               BITTTT_FUZZ_MODEL=fuzz_model, LD_PRELOAD=ASAN_RT)
    proc = subprocess.run([exe, "-runs=1", path], capture_output=True, text=True,
                          errors="replace", timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "ERROR: AddressSanitizer" not in proc.stderr
    assert "runtime error:" not in proc.stderr, proc.stderr[-3000:]
