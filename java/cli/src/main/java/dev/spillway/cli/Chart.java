package dev.spillway.cli;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Path2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;

/**
 * PNG charts with Java2D (headless; part of the JDK, so no plotting dependency): a line chart of
 * named series over numeric x (hit ratio against cache size) and a grouped bar chart (throughput
 * per backend).
 */
final class Chart {
    private static final Color[] PALETTE = {new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c),
        new Color(0xff7f0e), new Color(0x9467bd), new Color(0x8c564b), new Color(0xe377c2), new Color(0x7f7f7f),
        new Color(0xbcbd22), new Color(0x17becf)};
    private static final int W = 900;
    private static final int H = 540;
    private static final int LEFT = 80;
    private static final int RIGHT = 190; // room for the legend
    private static final int TOP = 50;
    private static final int BOTTOM = 60;

    private final String title;
    private final String xLabel;
    private final String yLabel;
    private final Map<String, List<double[]>> series = new LinkedHashMap<>();
    private final Map<String, Map<String, Double>> bars = new LinkedHashMap<>();
    private boolean logX;

    Chart(String title, String xLabel, String yLabel) {
        this.title = title;
        this.xLabel = xLabel;
        this.yLabel = yLabel;
    }

    Chart logX() {
        this.logX = true;
        return this;
    }

    /** Adds a point to a line series. */
    Chart point(String name, double x, double y) {
        series.computeIfAbsent(name, k -> new ArrayList<>()).add(new double[] {x, y});
        return this;
    }

    /** Adds a bar: {@code group} along the x axis, {@code name} a colour within the group. */
    Chart bar(String group, String name, double value) {
        bars.computeIfAbsent(group, k -> new LinkedHashMap<>()).put(name, value);
        return this;
    }

    void write(Path png) {
        BufferedImage img = new BufferedImage(W, H, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, W, H);
            g.setColor(Color.BLACK);
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 16));
            g.drawString(title, LEFT, 30);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
            if (!bars.isEmpty()) {
                drawBars(g);
            } else {
                drawLines(g);
            }
        } finally {
            g.dispose();
        }
        writePng(img, png);
    }

    /**
     * Writes the PNG through a stream on a regular file that this creates or truncates. Not
     * {@code ImageIO.write(img, "png", File)}: that deletes whatever is at the path first (an empty
     * directory included, replaced by the PNG) and, when the file cannot be opened, its stream
     * provider prints the exception's stack trace to stderr before ImageIO throws a message that
     * names no reason. The stream is cached in memory, so no temporary file is made either.
     */
    static void writePng(BufferedImage img, Path png) {
        if (Files.isDirectory(png)) {
            throw new Main.CommandException("cannot write chart " + png + ": is a directory");
        }
        if (Files.exists(png) && !Files.isRegularFile(png)) {
            throw new Main.CommandException("cannot write chart " + png + ": exists and is not a regular file");
        }
        ImageWriter writer = ImageIO.getImageWritersByFormatName("png").next();
        try (OutputStream os = Files.newOutputStream(png); ImageOutputStream ios = new MemoryCacheImageOutputStream(os)) {
            writer.setOutput(ios);
            writer.write(img);
        } catch (IOException e) {
            // the message is the whole line (Main.describe would put the cause's wording first)
            throw new Main.CommandException("cannot write chart " + png + ": " + reason(png, e), e);
        } finally {
            writer.dispose();
        }
    }

    /** The operating system's reason, without repeating the path. */
    private static String reason(Path png, IOException e) {
        if (e instanceof NoSuchFileException) {
            Path parent = png.toAbsolutePath().getParent();
            return parent != null && !Files.isDirectory(parent) ? "no such directory: " + parent
                    : "no such file or directory";
        }
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof FileSystemException f && f.getReason() != null) {
            return f.getReason();
        }
        return Main.describe(e);
    }

    private double tx(double x) {
        return logX ? Math.log10(Math.max(x, 1e-9)) : x;
    }

    private void drawLines(Graphics2D g) {
        double x0 = Double.MAX_VALUE;
        double x1 = -Double.MAX_VALUE;
        double y1 = 0;
        for (List<double[]> pts : series.values()) {
            for (double[] p : pts) {
                x0 = Math.min(x0, tx(p[0]));
                x1 = Math.max(x1, tx(p[0]));
                y1 = Math.max(y1, p[1]);
            }
        }
        if (x0 >= x1) {
            x1 = x0 + 1;
        }
        y1 = niceMax(y1);
        axes(g, 0, y1);
        int pw = W - LEFT - RIGHT;
        int ph = H - TOP - BOTTOM;
        // x ticks at the data's x values (the cache sizes)
        java.util.TreeSet<Double> xs = new java.util.TreeSet<>();
        series.values().forEach(pts -> pts.forEach(p -> xs.add(p[0])));
        FontMetrics fm = g.getFontMetrics();
        int lastRight = -1;
        for (double x : xs) {
            int px = LEFT + (int) ((tx(x) - x0) / (x1 - x0) * pw);
            String s = fmt(x);
            int sx = px - fm.stringWidth(s) / 2;
            g.setColor(Color.GRAY);
            g.drawLine(px, H - BOTTOM, px, H - BOTTOM + 4);
            if (sx > lastRight + 4) {
                g.drawString(s, sx, H - BOTTOM + 18);
                lastRight = sx + fm.stringWidth(s);
            }
        }
        int i = 0;
        for (Map.Entry<String, List<double[]>> e : series.entrySet()) {
            Color c = PALETTE[i % PALETTE.length];
            g.setColor(c);
            g.setStroke(new BasicStroke(2f));
            Path2D path = new Path2D.Double();
            List<double[]> pts = new ArrayList<>(e.getValue());
            pts.sort((a, b) -> Double.compare(a[0], b[0]));
            for (int k = 0; k < pts.size(); k++) {
                double px = LEFT + (tx(pts.get(k)[0]) - x0) / (x1 - x0) * pw;
                double py = H - BOTTOM - pts.get(k)[1] / y1 * ph;
                if (k == 0) {
                    path.moveTo(px, py);
                } else {
                    path.lineTo(px, py);
                }
                g.fillOval((int) px - 3, (int) py - 3, 6, 6);
            }
            g.draw(path);
            legend(g, i, e.getKey(), c);
            i++;
        }
    }

    private void drawBars(Graphics2D g) {
        double y1 = 0;
        List<String> names = new ArrayList<>();
        for (Map<String, Double> m : bars.values()) {
            for (Map.Entry<String, Double> e : m.entrySet()) {
                y1 = Math.max(y1, e.getValue());
                if (!names.contains(e.getKey())) {
                    names.add(e.getKey());
                }
            }
        }
        y1 = niceMax(y1);
        axes(g, 0, y1);
        int pw = W - LEFT - RIGHT;
        int ph = H - TOP - BOTTOM;
        int groups = bars.size();
        double gw = (double) pw / groups;
        double bw = gw * 0.8 / names.size();
        int gi = 0;
        FontMetrics fm = g.getFontMetrics();
        for (Map.Entry<String, Map<String, Double>> grp : bars.entrySet()) {
            double gx = LEFT + gi * gw + gw * 0.1;
            for (int ni = 0; ni < names.size(); ni++) {
                Double v = grp.getValue().get(names.get(ni));
                if (v == null) {
                    continue;
                }
                int h = (int) (v / y1 * ph);
                g.setColor(PALETTE[ni % PALETTE.length]);
                g.fillRect((int) (gx + ni * bw), H - BOTTOM - h, Math.max(1, (int) bw - 2), h);
            }
            g.setColor(Color.BLACK);
            String s = grp.getKey();
            g.drawString(s, (int) (LEFT + gi * gw + gw / 2 - fm.stringWidth(s) / 2.0), H - BOTTOM + 18);
            gi++;
        }
        for (int ni = 0; ni < names.size(); ni++) {
            legend(g, ni, names.get(ni), PALETTE[ni % PALETTE.length]);
        }
    }

    private void axes(Graphics2D g, double y0, double y1) {
        int pw = W - LEFT - RIGHT;
        int ph = H - TOP - BOTTOM;
        FontMetrics fm = g.getFontMetrics();
        for (int t = 0; t <= 5; t++) {
            double v = y0 + (y1 - y0) * t / 5;
            int py = H - BOTTOM - (int) ((double) ph * t / 5);
            g.setColor(new Color(0xE5E5E5));
            g.drawLine(LEFT, py, LEFT + pw, py);
            g.setColor(Color.DARK_GRAY);
            String s = fmt(v);
            g.drawString(s, LEFT - 8 - fm.stringWidth(s), py + 4);
        }
        g.setColor(Color.BLACK);
        g.drawLine(LEFT, H - BOTTOM, LEFT + pw, H - BOTTOM);
        g.drawLine(LEFT, TOP, LEFT, H - BOTTOM);
        g.drawString(xLabel + (logX ? " (log scale)" : ""), LEFT + pw / 2 - fm.stringWidth(xLabel) / 2, H - 15);
        Graphics2D r = (Graphics2D) g.create();
        r.rotate(-Math.PI / 2);
        r.drawString(yLabel, -(TOP + ph / 2 + fm.stringWidth(yLabel) / 2), 20);
        r.dispose();
    }

    private void legend(Graphics2D g, int i, String name, Color c) {
        int x = W - RIGHT + 20;
        int y = TOP + 10 + i * 20;
        g.setColor(c);
        g.fillRect(x, y - 9, 14, 10);
        g.setColor(Color.BLACK);
        g.drawString(name, x + 20, y);
    }

    private static double niceMax(double v) {
        if (v <= 0) {
            return 1;
        }
        double p = Math.pow(10, Math.floor(Math.log10(v)));
        for (double m : new double[] {1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10}) {
            if (m * p >= v) {
                return m * p;
            }
        }
        return 10 * p;
    }

    private static String fmt(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e9) {
            return String.format(Locale.ROOT, "%,d", (long) v);
        }
        return String.format(Locale.ROOT, "%.3g", v);
    }
}
