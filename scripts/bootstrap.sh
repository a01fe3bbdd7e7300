#!/usr/bin/env bash
# First command of the README: install what bitttt needs (idempotent), build
# everything, and run the main job on the bundled example.
#
#   scripts/bootstrap.sh              install + build + run the example
#   scripts/bootstrap.sh --deps-only  install only (used by .ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  cmake ninja-build clang-22 lld-22
  llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools
  nlohmann-json3-dev libgtest-dev libopenblas-dev
  python3-venv python3-torch python3-numpy
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "== apt: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
fi

# Debian's interpreter sees Debian's torch/numpy; the venv adds PyPI packages.
if [ ! -x .venv/bin/python ]; then
  echo "== python: creating .venv (system site packages visible)"
  /usr/bin/python3 -m venv --system-site-packages .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -r python/requirements.txt

[ "${1:-}" = "--deps-only" ] && exit 0

bash scripts/build.sh

# Main job: a small random model from the reference implementation
# (config examples/tiny/config.json), compiled for this CPU's x86 levels and
# run: greedy generation from a few prompt ids.
echo "== main job: make a random tiny model, compile it, generate"
mkdir -p build/example
PYTHONPATH=python .venv/bin/python -m bitttt_ref make-random \
  --config examples/tiny/config.json --seed 1 build/example/model
build/bin/bitttt-compile build/example/model -o build/example/tiny.bitt
build/bin/bitttt-run inspect build/example/tiny.bitt
build/bin/bitttt-run generate build/example/tiny.bitt --ids 1,2,3,4,5 -n 16
