#!/usr/bin/env bash
# The GPU half of the test suite in one command, for a machine with an NVIDIA
# GPU (the lent H200 of docs/performance.md, or yours): builds with CUDA in
# ./build-gpu, runs the CUDA test programs, every tracing mode of `apr run`
# and `apr chat` on the card, and the whole QA matrix (its GPU cells must
# PASS there), and writes each output under OUT_DIR. Ends with one line per
# step and a non-zero status when any step failed.
#
# usage: scripts/gpu_check.sh [OUT_DIR]      (default: build-gpu/gpu-check)
#   env APR_FIXTURES_DIR   the fixtures folder (nano HF folder, its GGUFs, the Qwen2.5 vocab):
#                          default ../shared/fixtures; tests needing what is not there skip
#   env JOBS               build jobs (default: nproc)
# On the lent GPU machine, which has no package registry, begin with the
# device kit (../shared/device/README.md): `. .device-deps/use-debs.sh &&
# scripts/gpu_check.sh`. Exit status: 0 all passed, 1 a step failed, 2 no GPU.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:-build-gpu/gpu-check}
fixtures=${APR_FIXTURES_DIR:-$(cd .. && pwd)/shared/fixtures}
jobs=${JOBS:-$(nproc)}
mkdir -p "$out"
failed=0
step() {  # name, command...: runs it, logs to $out/name.txt, reports
    local name=$1; shift
    if "$@" >"$out/$name.txt" 2>&1; then echo "gpu_check: $name: ok"; else echo "gpu_check: $name: FAILED (see $out/$name.txt)"; failed=1; fi
}
if ! command -v nvidia-smi >/dev/null || ! nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >"$out/gpu.txt" 2>&1; then
    echo "gpu_check: no NVIDIA GPU here (nvidia-smi is missing or lists no card): this check is for a GPU machine;" >&2
    echo "gpu_check: the CPU suite is ./scripts/test.sh" >&2
    exit 2
fi
echo "gpu_check: card: $(cat "$out/gpu.txt")"
if [[ ! -f build-gpu/build.ninja ]]; then
    step setup meson setup build-gpu --buildtype=release -Dcuda=enabled -Dfixtures_dir="$fixtures" || exit 1
fi
step build ninja -C build-gpu -j "$jobs"
((failed)) && exit 1
export APR_CLI=$PWD/build-gpu/examples/apr APR_FIXTURES_DIR=$fixtures
for t in test/test_cuda_kernels test/test_cuda_model test/test_cuda_profile test/serve/test_cuda_serve; do
    step "$(basename "$t")" timeout 300 "build-gpu/$t" --reporter tapcases
done
apr=build-gpu/examples/apr model=models/nano/nano-q4_k_m.gguf
question="What is 2+2? Answer with just the number."
traces() {
    for mode in --trace "--trace-level layer" --profile --trace-payload "--trace-output $out/trace.json" --verbose; do
        echo "===== apr run --device cuda $mode"
        # shellcheck disable=SC2086  # a mode may be two words
        timeout 60 "$apr" run "$model" --device cuda --prompt "$question" --max-tokens 8 $mode 2>&1 || return 1
    done
    echo "===== apr chat --device cuda --profile --trace-level layer (two turns, piped)"
    printf 'What is 2+2?\nWhat is 7*8?\n' | timeout 60 "$apr" chat "$model" --device cuda --profile --trace-level layer 2>&1
}
step trace_modes traces
qa_args=(--class all --matrix --tracing-tests)
[[ -f $fixtures/nano/config.json ]] && qa_args+=(--hf-model "$fixtures/nano")
step qa_matrix timeout 600 build-gpu/examples/qa_run "${qa_args[@]}"
tail -3 "$out/qa_matrix.txt"
exit $failed
