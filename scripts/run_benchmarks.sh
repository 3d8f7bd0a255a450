#!/usr/bin/env bash
# Runs the benchmark session behind docs/benchmarks.md and writes JSON lines to one folder.
#   scripts/run_benchmarks.sh [OUT_DIR] [ROUNDS]
# Each round runs joule bench matmul and the numpy peer at 1 and 2 threads. Then it runs joule bench
# step for tiny, llmc and small at 1 and 2 threads. Every joule matmul figure thus has a numpy figure
# taken minutes apart. scripts/summarize_benchmarks.py turns the folder into medians over the rounds.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/bench-results}"
rounds="${2:-3}"
mkdir -p "$out"
cd "$root"
{
  date -u +"date: %Y-%m-%dT%H:%M:%SZ"
  lscpu | grep -E "Model name|^CPU\(s\)|Flags" | sed 's/Flags:.*\(avx512f\).*/Flags: ... avx512f .../'
  ./joule --version
} > "$out/machine.txt" 2>&1
for round in $(seq 1 "$rounds"); do
  for t in 1 2; do
    uptime >> "$out/load.txt"
    ./joule bench matmul --threads "$t" --json >> "$out/joule-matmul.jsonl" 2>/dev/null
    /usr/bin/python3 scripts/numpy_matmul.py --threads "$t" --json >> "$out/numpy-matmul.jsonl"
  done
  for model in tiny llmc small; do
    for t in 1 2; do
      uptime >> "$out/load.txt"
      steps=10
      [[ "$model" == small ]] && steps=6
      ./joule bench step --model "$model" --threads "$t" --steps "$steps" --json >> "$out/joule-step.jsonl" 2>/dev/null
    done
  done
  echo "round $round done $(date -u +%H:%M:%S)" >> "$out/load.txt"
done
