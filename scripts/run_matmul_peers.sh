#!/usr/bin/env bash
# Measures float32 matmul for Joule, OpenBLAS 0.3.31 and Jlama 0.8.4 in one JMH run, then numpy, then
# draws docs/img/matmul-gflops.svg.
#   scripts/run_matmul_peers.sh [OUT_DIR]
# Needs bench/target/benchmarks.jar (./mvnw -q install -DskipTests). SHAPES and THREADS override the JMH
# shape and thread lists; SVG names the plot to write (default docs/img/matmul-gflops.svg, "none" for none).
# Before each of the two measurements the script waits up to QUIET_WAIT_S seconds (default 300) for a
# 2-second window in which the machine is at least 90% idle. Afterwards it writes to OUT_DIR/noise.txt
# the load average and the share of all CPU time that other processes took while the measurement ran.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-/tmp/matmul-peers}"
shapes="${SHAPES:-NN:256:256:256,NN:512:512:512,NN:1024:1024:1024,NN:2048:2048:2048,NN:4096:768:256,NN:4096:1024:256,NN:4096:256:1024}"
threads="${THREADS:-1,2}"
svg="${SVG:-docs/img/matmul-gflops.svg}"
quiet_wait="${QUIET_WAIT_S:-300}"
java="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java"
hz="$(getconf CLK_TCK)"
cpus="$(nproc)"
mkdir -p "$out"
cd "$root"

# Busy and total jiffies of the whole machine.
jiffies() { awk '/^cpu /{b = $2 + $3 + $4 + $7 + $8 + $9; print b, b + $5 + $6}' /proc/stat; }

quiet() {
  local waited=0 b0 t0 b1 t1
  while (( waited < quiet_wait )); do
    read -r b0 t0 < <(jiffies); sleep 2; read -r b1 t1 < <(jiffies)
    (( (b1 - b0) * 10 <= (t1 - t0) )) && return 0
    sleep 3; waited=$(( waited + 5 ))
  done
  echo "$(date -u +%T) no quiet window within ${quiet_wait}s; measuring anyway" >> "$out/noise.txt"
}

# Runs "$@" after a quiet window, then logs wall time, own CPU time and the others' share of the machine.
timed() {
  local label="$1" b0 t0 b1 t1 s e self
  shift
  quiet
  echo "$(date -u +%T) start $label, load $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/noise.txt"
  read -r b0 t0 < <(jiffies); s="$(date +%s.%N)"
  TIMEFORMAT="%U %S"
  self="$( { time "$@" > "$out/$label.out" 2> "$out/$label.err"; } 2>&1 )"
  e="$(date +%s.%N)"; read -r b1 t1 < <(jiffies)
  awk -v l="$label" -v busy="$((b1 - b0))" -v hz="$hz" -v self="$self" -v s="$s" -v e="$e" -v cpus="$cpus" \
      -v load="$(cut -d' ' -f1-3 /proc/loadavg)" 'BEGIN { split(self, u, " "); w = e - s;
        others = busy / hz - u[1] - u[2]; if (others < 0) others = 0;
        printf "%s: wall %.0f s, own CPU %.0f s, others %.0f s = %.0f%% of the machine, load at end %s\n",
               l, w, u[1] + u[2], others, 100 * others / (cpus * w), load }' >> "$out/noise.txt"
}

{ date -u; lscpu | grep -E "Model name|^CPU\(s\)"; "$java" -version 2>&1 | head -1; git rev-parse HEAD; } \
    > "$out/machine.txt" 2>&1
timed jmh "$java" --add-modules jdk.incubator.vector -jar bench/target/benchmarks.jar \
    'MatmulBench|OpenBlasMatmulBench|JlamaMatmulBench' -p "shape=$shapes" -p "threads=$threads" \
    -wi 2 -w 1 -i 3 -r 1 -rf json -rff "$out/peers.json"
timed numpy /usr/bin/python3 scripts/numpy_matmul.py --threads "$threads" --json
cp "$out/numpy.out" "$out/numpy.jsonl"
/usr/bin/python3 scripts/summarize_benchmarks.py "$out" --jmh "$out/peers.json" > "$out/tables.md"
if [[ "$svg" != none ]]; then
  /usr/bin/python3 scripts/plot_matmul.py --jmh "$out/peers.json" --numpy "$out/numpy.jsonl" --out "$svg" \
      --note "${PLOT_NOTE:-}"
fi
cat "$out/noise.txt"
