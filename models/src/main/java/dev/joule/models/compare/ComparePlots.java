package dev.joule.models.compare;

import dev.joule.models.train.RunDirectory;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The SVG charts of a comparison, written as text (no AWT, like the run directory's loss.svg):
 * validation loss against step and against training time, and the traced energy per layer.
 */
public final class ComparePlots {
    public static final String LOSS_VS_STEP = "loss-vs-step.svg";
    public static final String LOSS_VS_TIME = "loss-vs-time.svg";
    public static final String ENERGY = "energy-per-layer.svg";

    private static final String[] COLORS = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
        "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
    private static final int WIDTH = 760;
    private static final int HEIGHT = 440;
    private static final int LEFT = 70;
    private static final int RIGHT = 190;
    private static final int TOP = 40;
    private static final int BOTTOM = 50;

    private ComparePlots() {}

    /** Writes the three charts into {@code dir}. */
    public static void write(Path dir, List<VariantResult> variants) {
        RunDirectory.writeAtomically(dir.resolve(LOSS_VS_STEP), lossChart(variants, false));
        RunDirectory.writeAtomically(dir.resolve(LOSS_VS_TIME), lossChart(variants, true));
        RunDirectory.writeAtomically(dir.resolve(ENERGY), energyChart(variants));
    }

    /** A linear map from data ranges to a plot rectangle. */
    private record Frame(double x0, double x1, double y0, double y1, double left, double top, double width,
                         double height) {
        double x(double v) {
            return left + width * (v - x0) / (x1 - x0);
        }

        double y(double v) {
            return top + height * (1 - (v - y0) / (y1 - y0));
        }

        static Frame of(double x0, double x1, double y0, double y1, double left, double top, double width,
                        double height) {
            if (!(x1 - x0 > 1e-12)) {
                x1 = x0 + 1;
            }
            if (!(y1 - y0 > 1e-12)) {
                y0 -= 0.5;
                y1 += 0.5;
            }
            return new Frame(x0, x1, y0, y1, left, top, width, height);
        }
    }

    static String lossChart(List<VariantResult> variants, boolean byTime) {
        double maxX = 0;
        double minY = Double.POSITIVE_INFINITY;
        double maxY = Double.NEGATIVE_INFINITY;
        for (VariantResult r : variants) {
            // Leave out step 0, the untrained loss, so that the differences between variants stay visible.
            for (VariantResult.MeanPoint p : r.curve()) {
                if (p.step() == 0) {
                    continue;
                }
                maxX = Math.max(maxX, byTime ? p.wallS() : p.step());
                minY = Math.min(minY, p.min());
                maxY = Math.max(maxY, p.max());
            }
        }
        if (!Double.isFinite(minY)) {
            minY = 0;
            maxY = 1;
        }
        Frame f = Frame.of(0, maxX, minY, maxY, LEFT, TOP, WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
        StringBuilder svg = header(WIDTH, HEIGHT);
        title(svg, byTime ? "validation loss against training time (mean over seeds)"
                : "validation loss against step (mean over seeds, band: min to max)");
        axes(svg, f, byTime ? "training time (s, validation excluded)" : "step", "validation loss (nats/token)");
        for (int i = 0; i < variants.size(); i++) {
            VariantResult r = variants.get(i);
            String color = COLORS[i % COLORS.length];
            List<VariantResult.MeanPoint> pts = r.curve().stream().filter(p -> p.step() > 0).toList();
            if (pts.isEmpty()) {
                continue;
            }
            if (!byTime && r.runs().size() > 1) {
                svg.append("<polygon fill=\"").append(color).append("\" fill-opacity=\"0.15\" stroke=\"none\""
                        + " points=\"");
                for (VariantResult.MeanPoint p : pts) {
                    svg.append(String.format(Locale.ROOT, "%.1f,%.1f ", f.x(p.step()), f.y(p.max())));
                }
                for (int k = pts.size() - 1; k >= 0; k--) {
                    VariantResult.MeanPoint p = pts.get(k);
                    svg.append(String.format(Locale.ROOT, "%.1f,%.1f ", f.x(p.step()), f.y(p.min())));
                }
                svg.append("\"/>\n");
            }
            svg.append("<polyline fill=\"none\" stroke=\"").append(color).append("\" stroke-width=\"1.5\" points=\"");
            for (VariantResult.MeanPoint p : pts) {
                svg.append(String.format(Locale.ROOT, "%.1f,%.1f ", f.x(byTime ? p.wallS() : p.step()),
                        f.y(p.mean())));
            }
            svg.append("\"/>\n");
            legend(svg, i, r.variant().name(), color);
        }
        return svg.append("</svg>\n").toString();
    }

    static String energyChart(List<VariantResult> variants) {
        int columns = Math.min(3, Math.max(1, variants.size()));
        int rows = (variants.size() + columns - 1) / columns;
        int panelW = 260;
        int panelH = 200;
        int width = columns * panelW + 20;
        int height = rows * panelH + 70;
        StringBuilder svg = header(width, height);
        title(svg, "traced energy F per layer on a fixed validation batch: before the step (solid), after"
                + " (dashed); one colour per seed");
        for (int i = 0; i < variants.size(); i++) {
            VariantResult r = variants.get(i);
            double left = (i % columns) * panelW + 65;
            double top = (i / columns) * panelH + 60;
            double minY = Double.POSITIVE_INFINITY;
            double maxY = Double.NEGATIVE_INFINITY;
            int layers = 1;
            for (RunSummary s : r.runs()) {
                layers = Math.max(layers, s.energyBefore().length);
                for (double[] series : new double[][] {s.energyBefore(), s.energyAfter()}) {
                    for (double v : series) {
                        if (Double.isFinite(v)) {
                            minY = Math.min(minY, v);
                            maxY = Math.max(maxY, v);
                        }
                    }
                }
            }
            if (!Double.isFinite(minY)) {
                minY = 0;
                maxY = 1;
            }
            Frame f = Frame.of(0, Math.max(1, layers - 1), minY, maxY, left, top, panelW - 90, panelH - 70);
            svg.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\">%s</text>%n", left, top - 8,
                    r.variant().name()));
            axes(svg, f, "layer", "");
            for (int s = 0; s < r.runs().size(); s++) {
                RunSummary run = r.runs().get(s);
                String color = COLORS[s % COLORS.length];
                series(svg, f, run.energyBefore(), color, null);
                series(svg, f, run.energyAfter(), color, "4 3");
            }
        }
        return svg.append("</svg>\n").toString();
    }

    private static void series(StringBuilder svg, Frame f, double[] values, String color, String dash) {
        svg.append("<polyline fill=\"none\" stroke=\"").append(color).append("\" stroke-width=\"1.5\"");
        if (dash != null) {
            svg.append(" stroke-dasharray=\"").append(dash).append('"');
        }
        svg.append(" points=\"");
        for (int l = 0; l < values.length; l++) {
            if (Double.isFinite(values[l])) {
                svg.append(String.format(Locale.ROOT, "%.1f,%.1f ", f.x(l), f.y(values[l])));
            }
        }
        svg.append("\"/>\n");
        for (int l = 0; l < values.length; l++) {
            if (Double.isFinite(values[l])) {
                svg.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>%n",
                        f.x(l), f.y(values[l]), color));
            }
        }
    }

    private static StringBuilder header(int width, int height) {
        StringBuilder svg = new StringBuilder();
        svg.append(String.format(Locale.ROOT,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\""
                        + " font-size=\"11\">%n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>%n",
                width, height));
        return svg;
    }

    private static void title(StringBuilder svg, String text) {
        svg.append(String.format(Locale.ROOT, "<text x=\"10\" y=\"20\" font-size=\"13\">%s</text>%n", text));
    }

    private static void axes(StringBuilder svg, Frame f, String xLabel, String yLabel) {
        svg.append(String.format(Locale.ROOT,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#888\"/>%n",
                f.left(), f.top(), f.width(), f.height()));
        for (int i = 0; i <= 4; i++) {
            double yv = f.y0() + (f.y1() - f.y0()) * i / 4;
            double xv = f.x0() + (f.x1() - f.x0()) * i / 4;
            svg.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>%n",
                    f.left() - 5, f.y(yv) + 4, label(yv)));
            svg.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>%n",
                    f.x(xv), f.top() + f.height() + 15, label(xv)));
        }
        svg.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>%n",
                f.left() + f.width() / 2, f.top() + f.height() + 32, xLabel));
        if (!yLabel.isEmpty()) {
            double cy = f.top() + f.height() / 2;
            svg.append(String.format(Locale.ROOT, "<text x=\"16\" y=\"%.1f\" transform=\"rotate(-90 16 %.1f)\""
                    + " text-anchor=\"middle\">%s</text>%n", cy, cy, yLabel));
        }
    }

    private static void legend(StringBuilder svg, int index, String name, String color) {
        double x = WIDTH - RIGHT + 15;
        double y = TOP + 10 + 18 * index;
        svg.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\""
                + " stroke-width=\"2\"/>%n", x, y, x + 20, y, color));
        svg.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\">%s</text>%n", x + 26, y + 4, name));
    }

    private static String label(double v) {
        double a = Math.abs(v);
        if (a != 0 && (a >= 1e5 || a < 1e-2)) {
            return String.format(Locale.ROOT, "%.2e", v);
        }
        return String.format(Locale.ROOT, a >= 100 ? "%.0f" : "%.3g", v);
    }
}
