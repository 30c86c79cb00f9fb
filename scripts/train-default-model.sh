#!/usr/bin/env bash
# Trains the shipped default model (packages/model/default) from random weights: the four
# `dytrack train` phases and the calibration recorded in its manifest's provenance.recipe
# (docs/ablation.md explains each phase). Prints each phase's wall time and the total.
#
#   bash scripts/train-default-model.sh [OUT_DIR]      (default runs/recipe)
#
# The evaluations the original phases ran at their ends are skipped (--no-eval): they do not
# change the weights. Measure the result with `dytrack eval ... --model OUT_DIR/g1/model`.
# Weights depend on the training step's rounding: the shipped g1 reproduces bit for bit at
# commit ae34b5e; later commits (a faster step: closed-form GELU gradient, one-GEMM weight
# gradients, folded AdamW) train the same recipe to weights that differ in rounding.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-runs/recipe}"
mkdir -p "$out"
dytrack() { node --conditions=@dytrack/source --import tsx apps/cli/src/main.ts "$@"; }
common=(--variant tiny --data procedural --batch 8 --search-jitter 1.5,0.45 --loss-weights sizeDense=5,offsetDense=1 --pairs-per-sequence 4 --threads 2)
late=(--min-visibility 0.5 --first-frame-templates 0.3 --hidden-negatives 0.15)
start=$(date +%s)
phase() {
  local name=$1; shift
  local t0; t0=$(date +%s)
  echo "== phase $name: dytrack train $*" >&2
  dytrack train "$@"
  local t1; t1=$(date +%s)
  echo "== phase $name: $((t1 - t0)) s wall (total so far $((t1 - start)) s)" >&2
}
phase 1 "${common[@]}" --steps 19500 --stop-after 3000 --lr 4e-4 --warmup 300 --seed 5 --checkpoint-every 1000 --out "$out/s4a"
phase 2 "${common[@]}" --steps 16000 --lr 4e-4 --warmup 100 --min-visibility 0.5 --seed 6 --checkpoint-every 1000 --init-from "$out/s4a/checkpoint.safetensors" --out "$out/s4b" --no-eval
phase 3 "${common[@]}" --steps 1450 --lr 1e-4 --warmup 100 "${late[@]}" --seed 7 --checkpoint-every 500 --init-from "$out/s4b/model" --out "$out/s5c" --no-eval
phase 4 "${common[@]}" --stage-depths 2,2,3 --steps 3000 --lr 2e-4 --warmup 100 "${late[@]}" --seed 12 --checkpoint-every 500 --init-from "$out/s5c/model" --out "$out/g1" --no-eval
t0=$(date +%s)
echo "== calibration" >&2
dytrack calibrate "$out/g1/model" --max-stages 0.6 --sequences 64 --candidates 0.5,0.55,0.6,0.65,0.7,0.75,0.8 --eval-sequences 0
t1=$(date +%s)
echo "== calibration: $((t1 - t0)) s wall; recipe total $((t1 - start)) s wall" >&2
