#!/usr/bin/python3
"""Draws GFLOP/s against matrix size for the square float32 matmuls as an SVG, with the standard library only.

Inputs: a JMH result file (-rf json) holding MatmulBench (Joule), OpenBlasMatmulBench and JlamaMatmulBench
figures for the shapes NN:S:S:S, and optionally the JSON lines of scripts/numpy_matmul.py --json. One
panel per thread count; one line per library. GFLOP/s = 2 S^3 / (JMH average time per product).

Usage: /usr/bin/python3 scripts/plot_matmul.py --jmh PEERS.json [--jmh MORE.json] [--numpy NUMPY.jsonl ...]
       [--out docs/img/matmul-gflops.svg] [--note "text under the title"]
--jmh and --numpy may be given more than once, e.g. one file per thread count; a later file's figure for
the same library, size and thread count replaces an earlier one.
"""
import argparse
import json
import math
import sys
from xml.sax.saxutils import escape

SIZES = (256, 512, 1024, 2048)
THREADS = (1, 2)
# label, JMH class or "numpy", colour, marker
SERIES = (
    ("Joule (JMH)", "MatmulBench", "#1b6ac9", "circle"),
    ("OpenBLAS 0.3.31 (JMH)", "OpenBlasMatmulBench", "#d9480f", "square"),
    ("Jlama 0.8.4 (JMH)", "JlamaMatmulBench", "#2b8a3e", "diamond"),
    ("numpy + OpenBLAS 0.3.21", "numpy", "#7048a8", "triangle"),
)


def read_jmh(path):
    """Returns {(class, size, threads): GFLOP/s} for the square NN shapes of a JMH JSON result file."""
    out = {}
    with open(path) as f:
        for b in json.load(f):
            cls = b["benchmark"].rsplit(".", 2)[-2]
            params = b.get("params", {})
            if "shape" not in params or b["primaryMetric"]["scoreUnit"] != "ms/op":
                continue
            layout, m, n, k = params["shape"].split(":")
            if layout != "NN" or not (m == n == k) or int(m) not in SIZES:
                continue
            s = int(m)
            out[(cls, s, int(params["threads"]))] = 2.0 * s ** 3 / (b["primaryMetric"]["score"] / 1e3) / 1e9
    return out


def read_numpy(path):
    """Returns {("numpy", size, threads): GFLOP/s}, keeping the best line when a size appears more than once."""
    out = {}
    with open(path) as f:
        for line in f:
            if not line.strip().startswith("{"):
                continue
            r = json.loads(line)
            if r.get("layout") != "NN" or not (r["m"] == r["n"] == r["k"]) or r["m"] not in SIZES:
                continue
            key = ("numpy", r["m"], r["threads"])
            out[key] = max(out.get(key, 0.0), r["gflops"])
    return out


def nice_top(v):
    """Returns a round axis maximum at or above v."""
    if v <= 0:
        return 1.0
    step = 10 ** math.floor(math.log10(v))
    for f in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if f * step >= v:
            return f * step
    return 10 * step


def marker(kind, x, y, colour):
    r = 4.5
    if kind == "circle":
        return '<circle cx="%.1f" cy="%.1f" r="%.1f" fill="%s"/>' % (x, y, r, colour)
    if kind == "square":
        return '<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>' % (x - r, y - r, 2 * r, 2 * r, colour)
    if kind == "diamond":
        return '<polygon points="%.1f,%.1f %.1f,%.1f %.1f,%.1f %.1f,%.1f" fill="%s"/>' % (
            x, y - r * 1.3, x + r * 1.3, y, x, y + r * 1.3, x - r * 1.3, y, colour)
    return '<polygon points="%.1f,%.1f %.1f,%.1f %.1f,%.1f" fill="%s"/>' % (
        x, y - r * 1.3, x + r * 1.2, y + r, x - r * 1.2, y + r, colour)


def svg(data, note):
    width, height = 920, 470
    left, top, panel_width, panel_height, gap = 70, 80, 360, 290, 90
    ymax = nice_top(max(data.values()) * 1.05)
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
             'font-family="DejaVu Sans, Arial, sans-serif" font-size="12">' % (width, height, width, height),
             '<rect width="100%" height="100%" fill="white"/>',
             '<text x="%d" y="26" font-size="16" font-weight="bold">float32 matmul, square N x N x N: GFLOP/s '
             '(higher is better)</text>' % left]
    if note:
        parts.append('<text x="%d" y="46" fill="#444">%s</text>' % (left, escape(note)))
    for p, t in enumerate(THREADS):
        x0 = left + p * (panel_width + gap)
        y0 = top
        parts.append('<text x="%.1f" y="%d" font-size="14" text-anchor="middle">%d thread%s</text>'
                     % (x0 + panel_width / 2, y0 - 10, t, "" if t == 1 else "s"))
        parts.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#888"/>'
                     % (x0, y0, panel_width, panel_height))
        ticks = 5
        for i in range(ticks + 1):
            v = ymax * i / ticks
            y = y0 + panel_height - panel_height * i / ticks
            parts.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e4e4e4"/>' % (x0, y, x0 + panel_width, y))
            parts.append('<text x="%d" y="%.1f" text-anchor="end" fill="#444">%g</text>' % (x0 - 6, y + 4, v))

        def px(i):
            return x0 + 40 + (panel_width - 80) * i / (len(SIZES) - 1)

        for i, s in enumerate(SIZES):
            parts.append('<text x="%.1f" y="%d" text-anchor="middle" fill="#444">%d</text>'
                         % (px(i), y0 + panel_height + 18, s))
        parts.append('<text x="%.1f" y="%d" text-anchor="middle">matrix size N</text>'
                     % (x0 + panel_width / 2, y0 + panel_height + 38))
        parts.append('<text transform="translate(%d,%.1f) rotate(-90)" text-anchor="middle">GFLOP/s</text>'
                     % (x0 - 45, y0 + panel_height / 2))
        for label, key, colour, kind in SERIES:
            points = [(px(i), y0 + panel_height - panel_height * data[(key, s, t)] / ymax)
                   for i, s in enumerate(SIZES) if (key, s, t) in data]
            if len(points) > 1:
                parts.append('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>'
                             % (colour, " ".join("%.1f,%.1f" % q for q in points)))
            parts += [marker(kind, x, y, colour) for x, y in points]
    # The legend sits under the panels and lists only the libraries found in the inputs.
    legend_x = left
    legend_y = top + panel_height + 68
    for label, key, colour, kind in SERIES:
        if not any(k[0] == key for k in data):
            continue
        parts.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"/>'
                     % (legend_x, legend_y, legend_x + 26, legend_y, colour))
        parts.append(marker(kind, legend_x + 13, legend_y, colour))
        parts.append('<text x="%d" y="%d">%s</text>' % (legend_x + 32, legend_y + 4, escape(label)))
        legend_x += 40 + 7 * len(label) + 20
    parts.append('</svg>')
    return "\n".join(parts) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--jmh", required=True, action="append", help="JMH result file written with -rf json -rff FILE")
    p.add_argument("--numpy", action="append", default=[], help="JSON lines of scripts/numpy_matmul.py --json")
    p.add_argument("--out", default="docs/img/matmul-gflops.svg", help="SVG file to write")
    p.add_argument("--note", default="", help="a line under the title, e.g. machine and JDK")
    args = p.parse_args()
    data = {}
    for path in args.jmh:
        data.update(read_jmh(path))
    for path in args.numpy:
        data.update(read_numpy(path))
    if not data:
        sys.exit("no square NN matmul figures found in the inputs")
    with open(args.out, "w") as f:
        f.write(svg(data, args.note))
    print("wrote %s: %d points" % (args.out, len(data)))
    for label, key, _, _ in SERIES:
        for t in THREADS:
            row = ["%7.1f" % data[(key, s, t)] if (key, s, t) in data else "      -" for s in SIZES]
            print("%-26s %dT %s" % (label, t, " ".join(row)))


if __name__ == "__main__":
    main()
