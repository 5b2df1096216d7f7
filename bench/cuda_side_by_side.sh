#!/usr/bin/env bash
# The GPU numbers of docs/performance.md in one run on one card: first
# bench_cuda_matvec (decode products in GB/s against the card's copy rate),
# then libapr's bench_generate --device cuda and llama.cpp's llama-bench with
# every layer on the GPU and flash attention on, alternating round by round
# (bench/compare/run_side_by_side.sh), pp512 and tg128 by default. libapr's
# tg runs from an empty cache (--tg-depth 0), as llama-bench's tg does.
#
# usage: bench/cuda_side_by_side.sh MODEL.gguf
#   env LLAMA_BENCH   llama.cpp's llama-bench built with CUDA (required; build
#                     it outside this repository, see docs/benchmarks.md)
#   env BUILD         libapr build folder (default: build)
#   env PP, TG, REPS, THREADS, LLAMA_ARGS, APR_ARGS   as in run_side_by_side.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$repo/build}
[[ -x $build/bench/bench_cuda_matvec ]] || { echo "cuda_side_by_side: no $build/bench/bench_cuda_matvec (a build with CUDA?)" >&2; exit 2; }
"$build/bench/bench_cuda_matvec"
PP=${PP:-512} TG=${TG:-128} THREADS=${THREADS:-4} \
  LLAMA_ARGS="-ngl 99 -fa 1 ${LLAMA_ARGS:-}" APR_ARGS="--device cuda --tg-depth 0 ${APR_ARGS:-}" \
  APR_BENCH=${APR_BENCH:-$build/bench/bench_generate} exec "$repo/bench/compare/run_side_by_side.sh" "$@"
