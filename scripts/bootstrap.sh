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
  libpcre2-dev libcli11-dev libxxhash-dev pkg-config gnuplot-nox
  python3-venv python3-setuptools python3-torch python3-numpy
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
# (config examples/tiny/config.json) with a byte-level BPE tokenizer that
# bitttt-run trains on this repository's docs, compiled for this CPU's x86
# levels and run: text in, text out (a random model writes gibberish, the
# pipeline is the point), and the perplexity of a docs file.
echo "== main job: train a tokenizer, make a random tiny model, compile it, generate text"
mkdir -p build/example
PYTHONPATH=python .venv/bin/python -m bitttt_ref make-random \
  --config examples/tiny/config.json --seed 1 build/example/model
build/bin/bitttt-run tokenizer train --vocab-size 512 --special "<|endoftext|>" \
  -o build/example/model/tokenizer.json README.md docs/*.md
build/bin/bitttt-compile build/example/model -o build/example/tiny.bitt
build/bin/bitttt-run inspect build/example/tiny.bitt
build/bin/bitttt-run generate build/example/tiny.bitt -p "The runtime" -n 24 --temp 0
build/bin/bitttt-run eval build/example/tiny.bitt docs/tokenizer.md
