#!/usr/bin/python3
"""Times numpy float32 matmul at the shapes of `joule bench matmul`, as a peer measured on the same machine.

numpy hands float32 matmul to the BLAS it is linked with. On Debian that is OpenBLAS when a libopenblas0
package is installed, and the much slower reference BLAS otherwise. The BLAS thread count is fixed
when the library loads, so every thread count runs in a child process with OPENBLAS_NUM_THREADS set.

Usage: /usr/bin/python3 scripts/numpy_matmul.py [--threads 1,2] [--repeats 5] [--json]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def cases():
    out = [("square %d" % s, "NN", s, s, s) for s in (256, 512, 1024, 2048)]
    # (M, N, K): qkv projection, MLP up, MLP down at batch 16, context 256, width 256.
    gpt = [(4096, 768, 256), (4096, 1024, 256), (4096, 256, 1024)]
    for layout in ("NN", "NT", "TN"):
        for m, n, k in gpt:
            out.append(("%dx%d @ %dx%d" % (m, k, k, n), layout, m, n, k))
    return out


def blas_core():
    """Returns the OpenBLAS core name and thread count of the library numpy loaded, if it is OpenBLAS."""
    import ctypes
    with open("/proc/self/maps") as maps:
        paths = {line.split()[-1] for line in maps if "blas" in line and ".so" in line}
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            return "%s (%s, %d threads)" % (lib.openblas_get_corename().decode(), path,
                                            lib.openblas_get_num_threads())
        except (OSError, AttributeError):
            continue
    return "not OpenBLAS: " + ", ".join(sorted(paths))


def median_seconds(fn, warmup, repeats):
    t0 = time.perf_counter()
    fn()
    once = time.perf_counter() - t0
    for _ in range(max(0, warmup - 1)):
        fn()
    calls = max(1, min(1_000_000, int(0.05 / max(once, 1e-9)) + 1))
    samples = []
    for _ in range(repeats):
        s = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - s) / calls)
    return statistics.median(samples)


def child(args):
    import numpy as np
    rng = np.random.default_rng(1337)
    threads = int(os.environ.get("OPENBLAS_NUM_THREADS", "0"))
    core = blas_core()
    for name, layout, m, n, k in cases():
        a = rng.uniform(-1, 1, size=(k, m) if layout == "TN" else (m, k)).astype(np.float32)
        b = rng.uniform(-1, 1, size=(n, k) if layout == "NT" else (k, n)).astype(np.float32)
        c = np.empty((m, n), dtype=np.float32)
        left = a.T if layout == "TN" else a
        right = b.T if layout == "NT" else b
        seconds = median_seconds(lambda: np.matmul(left, right, out=c), args.warmup, args.repeats)
        print(json.dumps({"bench": "matmul", "peer": "numpy " + np.__version__, "blas": core,
                          "threads": threads, "case": name, "layout": layout, "m": m, "n": n, "k": k,
                          "ms": seconds * 1e3, "gflops": 2.0 * m * n * k / seconds / 1e9}), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", default="1,2", help="comma-separated BLAS thread counts (default 1,2)")
    p.add_argument("--repeats", type=int, default=5, help="timed samples per shape; the median is kept")
    p.add_argument("--warmup", type=int, default=3, help="untimed calls before timing")
    p.add_argument("--json", action="store_true", help="print one JSON object per figure")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.repeats < 1 or args.warmup < 0:
        p.error("--repeats must be at least 1 and --warmup at least 0")
    if args.child:
        child(args)
        return
    try:
        counts = [int(t) for t in args.threads.split(",")]
    except ValueError:
        p.error("--threads must list whole numbers, got %r" % args.threads)
    if any(t < 1 for t in counts):
        p.error("--threads must be at least 1, got %r" % args.threads)
    rows = []
    for t in counts:
        env = dict(os.environ, OPENBLAS_NUM_THREADS=str(t), OMP_NUM_THREADS=str(t))
        cmd = [sys.executable, __file__, "--child", "--repeats", str(args.repeats), "--warmup", str(args.warmup)]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr)
            sys.exit(proc.returncode)
        for line in proc.stdout.splitlines():
            if args.json:
                print(line, flush=True)
            rows.append(json.loads(line))
    if not args.json and rows:
        print("numpy matmul, BLAS: %s" % rows[0]["blas"])
        print("%-22s | %-6s | %7s | %10s | %8s" % ("shape (M x K @ K x N)", "layout", "threads", "ms", "GFLOP/s"))
        print("-" * 23 + "+" + "-" * 8 + "+" + "-" * 9 + "+" + "-" * 12 + "+" + "-" * 9)
        for r in rows:
            print("%-22s | %-6s | %7d | %10.3f | %8.1f" % (r["case"], r["layout"], r["threads"], r["ms"], r["gflops"]))


if __name__ == "__main__":
    main()
