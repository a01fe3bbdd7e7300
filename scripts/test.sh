#!/usr/bin/env bash
# Second command of the README (and what .ci/run calls): build if needed, then
# run every suite (lit + FileCheck, GoogleTest, pytest) and close with one
# "N passed, N failed" line over all of them: first against the release
# build (build/), then against the ASan + UBSan build (build-asan/,
# scripts/sanitize.sh test). pytest runs one worker per CPU (pytest-xdist),
# each test file on one worker, so module fixtures compile once.
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/build.sh || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }

results=build/test-results
rm -rf "$results" && mkdir -p "$results"

# The sanitizer build (ASan + UBSan, build-asan/): its fuzz targets are
# what the release pytest's test_fuzz_corpora.py replays the corpora with.
echo "== sanitizer build (scripts/sanitize.sh build)"
bash scripts/sanitize.sh build >"$results/asan-build.log" 2>&1 ||
  { tail -30 "$results/asan-build.log"; echo "sanitizer build failed"; }

echo "== lit"
/usr/lib/llvm-22/bin/lit -sv build/test --xunit-xml-output "$results/lit.xml"

echo "== gtest"
build/bin/bitttt-runtime-tests --gtest_brief=1 --gtest_output="xml:$results/gtest.xml"

echo "== pytest"
PYTHONPATH=python .venv/bin/python -m pytest -q python/tests -p no:cacheprovider \
  -n "$(nproc)" --dist loadfile --junitxml="$results/pytest.xml"

# The same suites against build-asan/ (asan-{lit,gtest,pytest}.xml).
bash scripts/sanitize.sh test

.venv/bin/python scripts/summarize_tests.py "$results"/{,asan-}{lit,gtest,pytest}.xml
