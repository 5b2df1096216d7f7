#!/usr/bin/env bash
# Times llama.cpp's llama-bench (and, if given, ik_llama.cpp's llama-bench in
# its default mode and with -rtr 1, which repacks at load) and libapr's
# bench_generate on the same GGUF, interleaved in one run (each round runs
# every engine once: llama, [ik, ik -rtr,] apr, then the next round), so that
# whatever else the machine is doing hits all of them about equally. Prints
# each round and the medians: prompt processing (pp) and generation (tg)
# tok/s, and the ratios libapr / each reference. Only ratios from one run mean
# anything on a shared machine; absolute tok/s move by 30% between runs.
#
# usage: bench/compare/run_side_by_side.sh MODEL.gguf
#   env LLAMA_BENCH   path of llama.cpp's llama-bench (required; build it
#                     outside this repository, see docs/benchmarks.md)
#   env IK_BENCH      path of ik_llama.cpp's llama-bench (optional)
#   env APR_BENCH     path of libapr's bench_generate
#                     (default: build-bench/bench/bench_generate, then build/bench/bench_generate)
#   env REPS          rounds (default 3)
#   env THREADS       threads for all (default 2)
#   env PP, TG        prompt and generated tokens (default 128 and 64)
#   env LLAMA_ARGS    extra llama-bench arguments for llama.cpp
#   env IK_ARGS       extra llama-bench arguments for both ik_llama.cpp modes
#   env APR_ARGS      extra bench_generate arguments
set -euo pipefail

die() { echo "run_side_by_side: $*" >&2; exit 2; }

[[ $# -eq 1 ]] || die "usage: $0 MODEL.gguf (see the header of this script for the environment variables)"
model=$1
[[ -f $model ]] || die "model '$model' does not exist"
reps=${REPS:-3}
threads=${THREADS:-2}
pp=${PP:-128}
tg=${TG:-64}
[[ $reps =~ ^[1-9][0-9]*$ ]] || die "REPS must be a positive integer, got '$reps'"
[[ $threads =~ ^[1-9][0-9]*$ ]] || die "THREADS must be a positive integer, got '$threads'"
[[ $pp =~ ^[1-9][0-9]*$ && $tg =~ ^[1-9][0-9]*$ ]] || die "PP and TG must be positive integers"

llama_bench=${LLAMA_BENCH:-}
[[ -n $llama_bench ]] || die "set LLAMA_BENCH to llama.cpp's llama-bench binary"
[[ -x $llama_bench ]] || die "LLAMA_BENCH '$llama_bench' is not executable"
ik_bench=${IK_BENCH:-}
[[ -z $ik_bench || -x $ik_bench ]] || die "IK_BENCH '$ik_bench' is not executable"

repo=$(cd "$(dirname "$0")/../.." && pwd)
apr_bench=${APR_BENCH:-}
if [[ -z $apr_bench ]]; then
    for candidate in "$repo/build-bench/bench/bench_generate" "$repo/build/bench/bench_generate"; do
        if [[ -x $candidate ]]; then apr_bench=$candidate; break; fi
    done
fi
[[ -n $apr_bench && -x $apr_bench ]] || die "libapr's bench_generate not found; build it (ninja -C build-bench bench/bench_generate) or set APR_BENCH"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One llama-bench run (binary, then extra arguments): pp and tg tok/s on one
# line. llama-bench's CSV has a header row; n_prompt/n_gen tell the pp row
# from the tg row.
run_llama() {
    local bin=$1
    shift
    "$bin" -m "$model" -p "$pp" -n "$tg" -t "$threads" -r 1 -o csv "$@" >"$work/llama.csv" 2>"$work/llama.err" ||
        { cat "$work/llama.err" >&2; die "$bin failed"; }
    # A real CSV reader: ik_llama.cpp's rows hold quoted fields with commas.
    python3 -c '
import csv, sys
pp = tg = None
for row in csv.DictReader(open(sys.argv[1])):
    if int(row["n_prompt"]) > 0 and int(row["n_gen"]) == 0: pp = row["avg_ts"]
    if int(row["n_gen"]) > 0 and int(row["n_prompt"]) == 0: tg = row["avg_ts"]
if pp is None or tg is None: sys.exit(1)
print(pp, tg)
    ' "$work/llama.csv" || die "could not read pp/tg from llama-bench's CSV: $(head -3 "$work/llama.csv")"
}

# One bench_generate run: pp and tg tok/s on one line. It runs twice and we
# keep the second run, so that, like llama-bench (one warmup run, then -r 1),
# the measured run finds the model's pages already mapped and caches warm.
run_apr() {
    # shellcheck disable=SC2086
    "$apr_bench" "$model" --pp "$pp" --tg "$tg" --threads "$threads" --reps 2 ${APR_ARGS:-} \
        >"$work/apr.out" 2>"$work/apr.err" || { cat "$work/apr.err" "$work/apr.out" >&2; die "bench_generate failed"; }
    # Lines look like: rep 1: pp128 812.3 ms (157.58 tok/s), tg64 2711.0 ms (23.61 tok/s)
    awk -F'(' '
        /^rep [0-9]+:/ { split($2, a, " "); split($3, b, " "); pp = a[1]; tg = b[1] }
        END { if (pp == "" || tg == "") exit 1; printf "%s %s\n", pp, tg }
    ' "$work/apr.out" || die "could not read pp/tg from bench_generate's output: $(cat "$work/apr.out")"
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# The engines of a round, in order: name, then how to run it.
engines=("llama.cpp")
[[ -n $ik_bench ]] && engines+=("ik_llama.cpp" "ik_llama.cpp -rtr 1")
engines+=("libapr")
run_engine() {
    # shellcheck disable=SC2086
    case $1 in
        llama.cpp) run_llama "$llama_bench" ${LLAMA_ARGS:-} ;;
        "ik_llama.cpp") run_llama "$ik_bench" ${IK_ARGS:-} ;;
        "ik_llama.cpp -rtr 1") run_llama "$ik_bench" -rtr 1 ${IK_ARGS:-} ;;
        libapr) run_apr ;;
    esac
}
file_of() { echo "$work/$(echo "$1" | tr -c 'a-zA-Z0-9\n' '_').all"; }

echo "model:        $model ($(du -h "$model" | cut -f1))"
echo "llama-bench:  $llama_bench"
[[ -n $ik_bench ]] && echo "ik_llama.cpp: $ik_bench"
echo "libapr:       $apr_bench"
echo "machine:      $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; threads $threads"
echo "date:         $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo
printf '%-6s %-20s %12s %12s\n' round engine "pp$pp tok/s" "tg$tg tok/s"
for ((round = 1; round <= reps; ++round)); do
    for engine in "${engines[@]}"; do
        read -r epp etg < <(run_engine "$engine")
        printf '%-6s %-20s %12.2f %12.2f\n' "$round" "$engine" "$epp" "$etg"
        echo "$epp $etg" >>"$(file_of "$engine")"
    done
done

declare -A med_pp med_tg
for engine in "${engines[@]}"; do
    med_pp[$engine]=$(cut -d' ' -f1 "$(file_of "$engine")" | median)
    med_tg[$engine]=$(cut -d' ' -f2 "$(file_of "$engine")" | median)
done
echo
echo "medians of $reps rounds (load average now $(cut -d' ' -f1-3 /proc/loadavg)):"
printf '| %-28s | %12s | %12s |\n' "" "pp$pp tok/s" "tg$tg tok/s"
printf '| %-28s | %12s | %12s |\n' "----------------------------" "-----------:" "-----------:"
for engine in "${engines[@]}"; do
    printf '| %-28s | %12.2f | %12.2f |\n' "$engine" "${med_pp[$engine]}" "${med_tg[$engine]}"
done
for engine in "${engines[@]}"; do
    [[ $engine == libapr ]] && continue
    printf '| %-28s | %12.2f | %12.2f |\n' "libapr / $engine" \
        "$(awk -v a="${med_pp[libapr]}" -v b="${med_pp[$engine]}" 'BEGIN { print a / b }')" \
        "$(awk -v a="${med_tg[libapr]}" -v b="${med_tg[$engine]}" 'BEGIN { print a / b }')"
done
