"""scripts/summarize_tests.py, the closing line of the test command: skipped
tests are listed by name, only hardware skips are allowed, a missing report
fails."""

import os
import subprocess
import sys

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "summarize_tests.py")


def junit(path, cases):
    body = "".join(f'<testcase classname="c" name="{n}">{x}</testcase>' for n, x in cases)
    path.write_text(f'<testsuites><testsuite name="s">{body}</testsuite></testsuites>')
    return str(path)


def run(*paths):
    return subprocess.run([sys.executable, SCRIPT, *paths], capture_output=True, text=True)


def test_hardware_skips_are_listed_and_allowed(tmp_path):
    p = junit(tmp_path / "pytest.xml", [
        ("ok", ""), ("v4", '<skipped message="hardware: this CPU lacks AVX512VNNI"/>')])
    r = run(p)
    assert r.returncode == 0, r.stdout
    assert "skipped pytest: c.v4: hardware: this CPU lacks AVX512VNNI" in r.stdout
    assert r.stdout.strip().endswith("1 passed, 0 failed, 1 skipped")


def test_other_skips_count_as_failures(tmp_path):
    p = junit(tmp_path / "gtest.xml", [("ok", ""), ("lazy", '<skipped message="not built"/>')])
    r = run(p)
    assert r.returncode == 1
    assert "c.lazy: not built  <- not a hardware skip" in r.stdout
    assert r.stdout.strip().endswith("1 passed, 1 failed, 1 skipped")


def test_lit_unsupported_is_allowed_and_a_missing_report_fails(tmp_path):
    lit = junit(tmp_path / "lit.xml", [("gpu.mlir", '<skipped message="Unsupported configuration"/>'),
                                       ("a.mlir", "")])
    r = run(lit, str(tmp_path / "absent.xml"))
    assert r.returncode == 1
    assert "skipped lit: c.gpu.mlir: Unsupported configuration" in r.stdout
    assert "absent: no report" in r.stdout
