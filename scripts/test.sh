#!/usr/bin/env bash
# Second command of the README (and what .ci/run calls): build if needed, then
# run every suite (lit + FileCheck, GoogleTest, pytest) and close with one
# "N passed, N failed" line over all of them. (The same suites against the
# ASan + UBSan build: scripts/sanitize.sh test, not yet part of this.)
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/build.sh || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }

results=build/test-results
rm -rf "$results" && mkdir -p "$results"

# The fuzz targets in the sanitizer build dir (ASan + UBSan, build-asan/);
# pytest replays their corpora.
echo "== fuzz build (scripts/fuzz.sh build)"
bash scripts/fuzz.sh build >"$results/fuzz-build.log" 2>&1 ||
  { tail -30 "$results/fuzz-build.log"; echo "fuzz build failed"; }

echo "== lit"
/usr/lib/llvm-22/bin/lit -sv build/test --xunit-xml-output "$results/lit.xml"

echo "== gtest"
build/bin/bitttt-runtime-tests --gtest_brief=1 --gtest_output="xml:$results/gtest.xml"


echo "== pytest"
PYTHONPATH=python .venv/bin/python -m pytest -q python/tests -p no:cacheprovider \
  --junitxml="$results/pytest.xml"

.venv/bin/python scripts/summarize_tests.py "$results"/lit.xml "$results"/gtest.xml "$results"/pytest.xml
