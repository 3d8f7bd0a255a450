package dev.joule.models.train;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Draws training and validation loss against step as an SVG file.
 *
 * <p>SVG is plain text that any browser shows, and writing it needs only java.base, which keeps the
 * runtime image free of the AWT/Swing module that charting libraries pull in.
 */
public final class LossPlot {
    private static final int WIDTH = 720;
    private static final int HEIGHT = 420;
    private static final int MARGIN = 60;

    private LossPlot() {}

    /** Reads {@code metrics} (metrics.jsonl) and writes the plot to {@code target} atomically. */
    public static void write(Path metrics, Path target) {
        List<StepMetrics> rows = Trainer.readMetrics(metrics);
        List<double[]> train = new ArrayList<>();
        List<double[]> val = new ArrayList<>();
        for (StepMetrics m : rows) {
            if (m.trainLoss() != null && Double.isFinite(m.trainLoss())) {
                train.add(new double[] {m.step(), m.trainLoss()});
            }
            if (m.valLoss() != null && Double.isFinite(m.valLoss())) {
                val.add(new double[] {m.step(), m.valLoss()});
            }
        }
        RunDirectory.writeAtomically(target, render(train, val));
    }

    static String render(List<double[]> train, List<double[]> val) {
        double maxStep = 1;
        double minLoss = Double.POSITIVE_INFINITY;
        double maxLoss = Double.NEGATIVE_INFINITY;
        for (List<double[]> series : List.of(train, val)) {
            for (double[] p : series) {
                maxStep = Math.max(maxStep, p[0]);
                minLoss = Math.min(minLoss, p[1]);
                maxLoss = Math.max(maxLoss, p[1]);
            }
        }
        if (!Double.isFinite(minLoss)) {
            minLoss = 0;
            maxLoss = 1;
        }
        if (maxLoss - minLoss < 1e-6) {
            maxLoss = minLoss + 1;
        }
        StringBuilder svg = new StringBuilder();
        svg.append(String.format(Locale.ROOT,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\""
                        + " font-size=\"12\">%n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>%n",
                WIDTH, HEIGHT));
        int plotW = WIDTH - 2 * MARGIN;
        int plotH = HEIGHT - 2 * MARGIN;
        svg.append(String.format(Locale.ROOT,
                "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#888\"/>%n",
                MARGIN, MARGIN, plotW, plotH));
        for (int i = 0; i <= 4; i++) {
            double loss = minLoss + (maxLoss - minLoss) * i / 4;
            double y = MARGIN + plotH * (1 - (double) i / 4);
            svg.append(String.format(Locale.ROOT,
                    "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.3f</text>%n", MARGIN - 6, y + 4, loss));
            double step = maxStep * i / 4;
            double x = MARGIN + plotW * (double) i / 4;
            svg.append(String.format(Locale.ROOT,
                    "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.0f</text>%n", x, HEIGHT - MARGIN + 18, step));
        }
        svg.append(String.format(Locale.ROOT,
                "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">step</text>%n", WIDTH / 2, HEIGHT - 15));
        svg.append(String.format(Locale.ROOT,
                "<text x=\"15\" y=\"%d\" transform=\"rotate(-90 15 %d)\" text-anchor=\"middle\">loss (nats/token)"
                        + "</text>%n", HEIGHT / 2, HEIGHT / 2));
        appendSeries(svg, train, "#1f77b4", maxStep, minLoss, maxLoss, plotW, plotH);
        appendSeries(svg, val, "#d62728", maxStep, minLoss, maxLoss, plotW, plotH);
        svg.append(String.format(Locale.ROOT,
                "<text x=\"%d\" y=\"%d\" fill=\"#1f77b4\">train</text>%n<text x=\"%d\" y=\"%d\" fill=\"#d62728\">"
                        + "validation</text>%n</svg>%n",
                WIDTH - MARGIN - 120, MARGIN - 10, WIDTH - MARGIN - 70, MARGIN - 10));
        return svg.toString();
    }

    private static void appendSeries(StringBuilder svg, List<double[]> points, String color, double maxStep,
                                     double minLoss, double maxLoss, int plotW, int plotH) {
        if (points.isEmpty()) {
            return;
        }
        svg.append("<polyline fill=\"none\" stroke=\"").append(color).append("\" stroke-width=\"1.5\" points=\"");
        for (double[] p : points) {
            double x = MARGIN + plotW * p[0] / maxStep;
            double y = MARGIN + plotH * (1 - (p[1] - minLoss) / (maxLoss - minLoss));
            svg.append(String.format(Locale.ROOT, "%.1f,%.1f ", x, y));
        }
        svg.append("\"/>\n");
    }
}
