#!/usr/bin/env bash
# Runs the benchmark session behind docs/benchmarks.md and writes JSON lines to one folder.
#   scripts/run_benchmarks.sh [OUT_DIR] [ROUNDS] [FIRST_ROUND]
# Each round runs joule bench matmul and the numpy peer at 1 and 2 threads. Then it runs joule bench
# step for tiny, llmc and small at 1 and 2 threads. Every joule matmul figure thus has a numpy figure
# taken minutes apart. scripts/summarize_benchmarks.py turns the folder into medians over the rounds.
#
# Before each command the script waits, for up to QUIET_WAIT_S seconds (default 300), until the machine
# is at least 90% idle over 2 s. After each command it appends to noise.txt the share of the machine's
# CPU time that other processes used while the command ran.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/bench-results}"
rounds="${2:-3}"
first="${3:-1}"
# TARGETS selects the parts to run: "matmul step" (the default), "matmul" or "step".
targets="${TARGETS:-matmul step}"
quiet_wait="${QUIET_WAIT_S:-300}"
cpus="$(nproc)"
hz="$(getconf CLK_TCK)"
mkdir -p "$out"
cd "$root"

# Prints busy and total CPU jiffies of the whole machine since boot.
cpu_jiffies() {
  awk '/^cpu /{busy = $2 + $3 + $4 + $7 + $8 + $9; print busy, busy + $5 + $6}' /proc/stat
}

wait_quiet() {
  local waited=0 b0 t0 b1 t1
  while (( waited < quiet_wait )); do
    read -r b0 t0 < <(cpu_jiffies)
    sleep 2
    read -r b1 t1 < <(cpu_jiffies)
    if (( (b1 - b0) * 10 <= (t1 - t0) )); then
      return
    fi
    sleep 3
    waited=$(( waited + 5 ))
  done
  echo "$(date -u +%H:%M:%S) gave up waiting for a quiet machine after ${quiet_wait}s" >> "$out/noise.txt"
}

# Runs one benchmark command with standard output appended to $1, and logs the others' CPU share.
measure() {
  local file="$1" label="$2" b0 t0 b1 t1 ours start end
  shift 2
  wait_quiet
  read -r b0 t0 < <(cpu_jiffies)
  start="$(date +%s.%N)"
  TIMEFORMAT="%U %S"
  ours="$( { time "$@" >> "$out/$file" 2>> "$out/stderr.log"; } 2>&1 )"
  end="$(date +%s.%N)"
  read -r b1 t1 < <(cpu_jiffies)
  awk -v label="$label" -v b="$((b1 - b0))" -v hz="$hz" -v ours="$ours" -v start="$start" -v end="$end" \
      -v cpus="$cpus" 'BEGIN { split(ours, u, " "); wall = end - start;
        others = b / hz - (u[1] + u[2]); if (others < 0) others = 0;
        printf "%s wall %.1fs, our cpu %.1fs, others %.1fs = %.0f%% of the machine\n",
               label, wall, u[1] + u[2], others, 100 * others / (cpus * wall) }' >> "$out/noise.txt"
}

{
  date -u +"date: %Y-%m-%dT%H:%M:%SZ"
  lscpu | grep -E "Model name|^CPU\(s\)|Flags" | sed 's/Flags:.*\(avx512f\).*/Flags: ... avx512f .../'
  ./joule --version 2>/dev/null
  git rev-parse HEAD
} >> "$out/machine.txt" 2>&1

for round in $(seq "$first" $(( first + rounds - 1 ))); do
  if [[ " $targets " == *" matmul "* ]]; then
    for t in 1 2; do
      measure joule-matmul.jsonl "r$round joule matmul ${t}T" ./joule bench matmul --threads "$t" --json
      measure numpy-matmul.jsonl "r$round numpy matmul ${t}T" \
          /usr/bin/python3 scripts/numpy_matmul.py --threads "$t" --json
    done
  fi
  if [[ " $targets " == *" step "* ]]; then
    for model in tiny llmc small; do
      steps=10
      if [[ "$model" == small ]]; then
        steps=6
      fi
      for t in 1 2; do
        measure joule-step.jsonl "r$round step $model ${t}T" \
            ./joule bench step --model "$model" --threads "$t" --steps "$steps" --json
      done
    done
  fi
done
