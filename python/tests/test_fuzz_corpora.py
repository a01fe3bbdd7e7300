"""Every seed and every past crasher of test/fuzz/ replayed through its
libFuzzer target (ASan + UBSan + LeakSanitizer build in build-fuzz/, which
scripts/test.sh builds with `scripts/fuzz.sh build`). A finding — a crash,
a sanitizer report, a leak — fails the case; long runs are
`scripts/fuzz.sh TARGET SECONDS` (docs/reliability.md)."""

import glob
import os
import subprocess

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FUZZ = os.path.join(REPO, "test", "fuzz")
BIN = os.path.join(os.environ.get("BITTTT_FUZZ_BUILD", os.path.join(REPO, "build-fuzz")), "bin")
TARGETS = ("bitt", "tokenizer", "json_depth", "config")
CASES = [(t, p) for t in TARGETS
         for p in sorted(glob.glob(os.path.join(FUZZ, "corpus", t, "*")) +
                         glob.glob(os.path.join(FUZZ, "crashers", t, "*")))]


def test_every_target_has_seeds():
    for t in TARGETS:
        assert any(c[0] == t for c in CASES), f"no seeds for fuzz_{t}"


@pytest.mark.parametrize("target,path", CASES,
                         ids=[f"{t}/{os.path.basename(p)}" for t, p in CASES])
def test_replay(target, path):
    exe = os.path.join(BIN, f"fuzz_{target}")
    assert os.path.exists(exe), f"{exe} not built: run scripts/fuzz.sh build"
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=1",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
    proc = subprocess.run([exe, "-runs=1", path], capture_output=True, text=True,
                          errors="replace", timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "ERROR: AddressSanitizer" not in proc.stderr
    assert "runtime error:" not in proc.stderr, proc.stderr[-3000:]
