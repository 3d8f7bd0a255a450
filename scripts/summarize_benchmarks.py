#!/usr/bin/python3
"""Turns the JSON lines of scripts/run_benchmarks.sh, and optionally a JMH JSON result file, into Markdown tables.

Every figure is the median over the rounds. The spread column is (max - min) / median over the rounds, a
rough measure of how noisy the machine was.

Usage: /usr/bin/python3 scripts/summarize_benchmarks.py RESULTS_DIR [--jmh JMH_RESULT.json]
"""
import argparse
import collections
import json
import os
import statistics


def read_lines(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip().startswith("{")]


def median_and_spread(values):
    m = statistics.median(values)
    spread = (max(values) - min(values)) / m if m else float("nan")
    return m, spread


def matmul_table(results, pick, title):
    """Prints one row per shape with joule and numpy GFLOP/s at 1 and 2 threads, reduced over rounds by pick."""
    joule = collections.defaultdict(list)
    numpy = collections.defaultdict(list)
    order = []
    for r in read_lines(os.path.join(results, "joule-matmul.jsonl")):
        key = (r["case"], r["layout"])
        if key not in order:
            order.append(key)
        joule[key + (r["threads"],)].append(r["gflops"])
    for r in read_lines(os.path.join(results, "numpy-matmul.jsonl")):
        numpy[(r["case"], r["layout"], r["threads"])].append(r["gflops"])
    if not order:
        return
    rounds = len(next(iter(joule.values())))
    print("%s, %d rounds. Ratio = joule / numpy. Spread = (max - min) / median of joule and numpy at 1T, 2T.\n"
          % (title, rounds))
    print("| shape (M x K @ K x N) | layout | joule 1T | numpy 1T | ratio 1T | joule 2T | numpy 2T | ratio 2T |"
          " spread |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    nan = float("nan")
    for key in order:
        cells = []
        spreads = []
        for t in (1, 2):
            j = joule.get(key + (t,), [])
            n = numpy.get(key + (t,), [])
            jm = pick(j) if j else nan
            nm = pick(n) if n else nan
            cells += ["%.1f" % jm, "%.1f" % nm, "%.2f" % (jm / nm)]
            spreads.append("%d%%/%d%%" % (round(100 * median_and_spread(j)[1]) if j else -1,
                                          round(100 * median_and_spread(n)[1]) if n else -1))
        print("| %s | %s | %s | %s |" % (key[0], key[1], " | ".join(cells), ", ".join(spreads)))


def step_table(results):
    runs = collections.defaultdict(list)
    order = []
    for r in read_lines(os.path.join(results, "joule-step.jsonl")):
        key = (r["model"], r["threads"])
        if key not in order:
            order.append(key)
        runs[key].append(r)
    if not order:
        return
    print("| model | shape | parameters | batch | threads | tokens/s median | tokens/s best | spread | step ms |"
          " model GFLOP/s | peak heap MB |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for key in order:
        rs = runs[key]
        r0 = rs[0]
        tps, spread = median_and_spread([r["tokens_per_s"] for r in rs])
        best = max(r["tokens_per_s"] for r in rs)
        print("| %s | %dL %dH %dC %dT | %s | %d | %d | %s | %s | %d%% | %.0f | %.2f | %.0f |" % (
            r0["model"], r0["layers"], r0["heads"], r0["dim"], r0["context"], format(r0["parameters"], ","),
            r0["batch"], r0["threads"], format(round(tps), ","), format(round(best), ","), round(100 * spread),
            statistics.median([r["step_ms_median"] for r in rs]),
            statistics.median([r["model_gflops"] for r in rs]),
            statistics.median([r["peak_heap_mb"] for r in rs])))
    print("\nPer run, tokens/s = batch * context / median step time after the warm-up steps. Median and best are"
          " over the runs (%s). Step ms, model GFLOP/s and peak heap are medians over the runs."
          % ", ".join("%s %dT: %d" % (k[0], k[1], len(runs[k])) for k in order))


def jmh_table(path):
    with open(path) as f:
        data = json.load(f)
    matmul = {}
    others = []
    for b in data:
        name = b["benchmark"].rsplit(".", 2)
        cls, method = name[-2], name[-1]
        params = b.get("params", {})
        score = b["primaryMetric"]["score"]
        unit = b["primaryMetric"]["scoreUnit"]
        if "shape" in params and unit == "ms/op":
            layout, m, n, k = params["shape"].split(":")
            gflops = 2.0 * int(m) * int(n) * int(k) / (score / 1e3) / 1e9
            matmul.setdefault((params["shape"], int(params["threads"])), {})[cls] = gflops
        else:
            others.append((cls + "." + method, params, score, b["primaryMetric"]["scoreError"], unit))
    if matmul:
        # The Jlama columns appear only when the file contains JlamaMatmulBench figures. Its TN rows show a dash.
        jlama = any("JlamaMatmulBench" in v for v in matmul.values())
        nan = float("nan")
        if jlama:
            print("| shape LAYOUT:M:N:K | threads | Joule GFLOP/s | OpenBLAS GFLOP/s | Jlama GFLOP/s |"
                  " Joule / OpenBLAS | Joule / Jlama |")
            print("|---|---:|---:|---:|---:|---:|---:|")
        else:
            print("| shape LAYOUT:M:N:K | threads | Joule GFLOP/s | OpenBLAS GFLOP/s | Joule / OpenBLAS |")
            print("|---|---:|---:|---:|---:|")
        for (shape, t), v in sorted(matmul.items(), key=lambda kv: (kv[0][0].split(":")[0], kv[0][1],
                                                                   [int(x) for x in kv[0][0].split(":")[1:]])):
            j = v.get("MatmulBench", nan)
            o = v.get("OpenBlasMatmulBench", nan)
            if jlama:
                la = v.get("JlamaMatmulBench", nan)
                print("| %s | %d | %.1f | %.1f | %s | %.2f | %s |" % (
                    shape, t, j, o, "%.1f" % la if la == la else "-", j / o, "%.2f" % (j / la) if la == la else "-"))
            else:
                print("| %s | %d | %.1f | %.1f | %.2f |" % (shape, t, j, o, j / o))
    if others:
        print("\n| benchmark | params | score | error | unit |")
        print("|---|---|---:|---:|---|")
        for name, params, score, err, unit in others:
            print("| %s | %s | %.3f | %.3f | %s |" % (name, ", ".join("%s=%s" % kv for kv in params.items()),
                                                      score, err, unit))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("results", help="folder written by scripts/run_benchmarks.sh")
    p.add_argument("--jmh", help="JMH result file written with -rf json -rff FILE")
    args = p.parse_args()
    matmul_table(args.results, statistics.median, "GFLOP/s, median over the rounds")
    print()
    matmul_table(args.results, max, "GFLOP/s, best of the rounds (contention only slows a run down)")
    print()
    step_table(args.results)
    if args.jmh:
        print()
        jmh_table(args.jmh)


if __name__ == "__main__":
    main()
