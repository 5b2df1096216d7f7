#!/usr/bin/env bash
# The GPU's batched-decode and at-depth figures of docs/performance.md in one
# run on one card, libapr and llama.cpp alternating round by round:
#   batched: bench_batch MODEL --device cuda --batches NPL --context 128
#            --steps 32 against llama-batched-bench -npp 128 -ntg 128 -npl NPL
#            -fa 1 -ngl 99 (generation tok/s summed over the sequences);
#   depth:   apr bench MODEL --device cuda --prompt-tokens 0 --gen-tokens 64
#            --depth DEPTHS against llama-bench -p 0 -n 64 -d DEPTHS -fa 1
#            -ngl 99.
# Prints each tool's own table; the ratios are read off the same round.
#
# usage: bench/cuda_batched_depth.sh MODEL.gguf
#   env LLAMA_BIN  folder with llama.cpp's CUDA llama-bench and
#                  llama-batched-bench (required; built outside this repository)
#   env BUILD      libapr build folder (default: build)
#   env NPL        sequence counts (default 1,8,32,64)
#   env DEPTHS     depths (default 0,4096,16384)
#   env REPS       rounds (default 1)
#   env PARTS      "batched depth" (default both)
set -euo pipefail
die() { echo "cuda_batched_depth: $*" >&2; exit 2; }
[[ $# -eq 1 ]] || die "usage: $0 MODEL.gguf (see the header for the environment variables)"
model=$1
[[ -f $model ]] || die "model '$model' does not exist"
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$repo/build}
bin=${LLAMA_BIN:-}
[[ -n $bin && -x $bin/llama-bench && -x $bin/llama-batched-bench ]] ||
  die "set LLAMA_BIN to a folder holding llama.cpp's llama-bench and llama-batched-bench"
[[ -x $build/bench/bench_batch && -x $build/examples/apr ]] || die "no bench_batch / apr in $build"
npl=${NPL:-1,8,32,64}
depths=${DEPTHS:-0,4096,16384}
reps=${REPS:-1}
parts=${PARTS:-batched depth}
[[ $reps =~ ^[1-9][0-9]*$ ]] || die "REPS must be a positive integer, got '$reps'"
# Enough context for the largest sequence count's prompts and answers.
most=$(tr ',' '\n' <<<"$npl" | sort -n | tail -1)
ctx=$(( most * 256 + 256 ))
for ((r = 1; r <= reps; ++r)); do
  echo "===== round $r"
  if [[ $parts == *batched* ]]; then
    echo "--- libapr: bench_batch --batches $npl"
    "$build/bench/bench_batch" "$model" --device cuda --batches "$npl" --context 128 --steps 32 --rounds 1
    echo "--- llama.cpp: llama-batched-bench -npl $npl"
    "$bin/llama-batched-bench" -m "$model" -c "$ctx" -npp 128 -ntg 128 -npl "$npl" -fa 1 -ngl 99 2>&1 | grep -E '^\|'
  fi
  if [[ $parts == *depth* ]]; then
    echo "--- libapr: apr bench --depth $depths"
    "$build/examples/apr" bench "$model" --device cuda --prompt-tokens 0 --gen-tokens 64 --depth "$depths" --repetitions 1
    echo "--- llama.cpp: llama-bench -d $depths"
    "$bin/llama-bench" -m "$model" -p 0 -n 64 -d "$depths" -fa 1 -ngl 99 -r 1 2>&1 | grep -E '^\|'
  fi
done
