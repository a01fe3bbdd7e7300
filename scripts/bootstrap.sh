#!/usr/bin/env bash
# First command of the README: install what bitttt needs (idempotent), build
# everything, and run the main job: train a model from text and talk to it.
#
#   scripts/bootstrap.sh              install + build + train + generate
#   scripts/bootstrap.sh --deps-only  install only (used by .ci/run)
#   BITTTT_TEXT="a.txt b.txt" scripts/bootstrap.sh   train on your own text
#   BITTTT_TRAIN_SECONDS=600 scripts/bootstrap.sh    train longer
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  cmake ninja-build clang-22 lld-22 libclang-rt-22-dev
  llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools
  nlohmann-json3-dev libgtest-dev libopenblas-dev
  libpcre2-dev libcli11-dev libxxhash-dev pkg-config gnuplot-nox
  python3-venv python3-setuptools python3-torch python3-numpy fortunes
  python3-matplotlib
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

# Main job (docs/training.md): a byte-level BPE tokenizer and a small
# Bit-TTT model (examples/fortunes/config.json) trained from text on this
# CPU for about two minutes by the compiled training step, exported, and
# asked to continue a prompt. The text is Debian's `fortunes` (about
# 2.6 MB of English) unless BITTTT_TEXT names files.
OUT=build/example
TEXT=${BITTTT_TEXT:-$(ls /usr/share/games/fortunes/* | grep -v -E '\.(dat|u8)$|/ascii-art$')}
SECONDS_BUDGET=${BITTTT_TRAIN_SECONDS:-120}
echo "== main job: tokenizer, data, model, compiled training (${SECONDS_BUDGET} s), generation"
mkdir -p "$OUT"
# shellcheck disable=SC2086
build/bin/bitttt-run tokenizer train --vocab-size 2048 --special "<|endoftext|>" \
  -o "$OUT/tokenizer.json" $TEXT
# shellcheck disable=SC2086
build/bin/bitttt-run data prepare --tokenizer "$OUT/tokenizer.json" -o "$OUT/data" $TEXT
PYTHONPATH=python .venv/bin/python -m bitttt_ref make-random \
  --config examples/fortunes/config.json --seed 1 "$OUT/init"
cp "$OUT/tokenizer.json" "$OUT/init/tokenizer.json"
build/bin/bitttt-compile "$OUT/init" --train --batch 8 --context 64 -o "$OUT/train.bitt"
rm -rf "$OUT/run" && mkdir -p "$OUT/run"
build/bin/bitttt-run train "$OUT/train.bitt" --data "$OUT/data" --out "$OUT/run" \
  --steps 300 --warmup 30 --lr 2e-3 --min-lr 1e-4 --eval-every 50 --save-every 100 \
  --time-limit "$SECONDS_BUDGET" > "$OUT/run/summary.json" || {
    status=$?; [ "$status" -eq 130 ] || exit "$status"; }
build/bin/bitttt-run generate "$OUT/run/model.bitt" -p "The meaning of life is" -n 48 \
  --temp 0.7 --seed 1
echo "== trained model:  $OUT/run/model.bitt (inference), $OUT/run/model/ (model directory)"
echo "== checkpoints:    $OUT/run/checkpoints/ (resume: bitttt-run train $OUT/train.bitt --data $OUT/data --out $OUT/run --resume $OUT/run ...)"
echo "== loss curve:     $OUT/run/loss.png  (metrics: $OUT/run/metrics.jsonl)"
echo "== summary:        $(cat "$OUT/run/summary.json")"
