package dev.tessera.deploy.simulate;

import dev.tessera.deploy.checkpoint.AtomicFiles;
import dev.tessera.plan.schedule.ActionKind;
import dev.tessera.plan.schedule.PipelineSchedule;
import dev.tessera.plan.schedule.ScheduleExecution.TimedAction;
import dev.tessera.plan.simulate.SimulationReport;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;

/**
 * Draws a simulated step as a PNG Gantt chart: one row per device, one box per compute action from
 * its start to its end, coloured by kind (F, B, W, fused BW), labelled with its micro-batch where it
 * fits, a time axis below. Where a device holds several stages (chunks), later chunks are drawn lighter.
 */
public final class GanttChart {
    private static final int WIDTH = 1400;
    private static final int LEFT = 90;
    private static final int RIGHT = 30;
    private static final int TOP = 50;
    private static final int ROW = 44;
    private static final int GAP = 8;
    private static final int BOTTOM = 70;
    private static final Map<ActionKind, Color> COLOURS = Map.of(
            ActionKind.FORWARD, new Color(0x4C72B0),
            ActionKind.BACKWARD_INPUT, new Color(0xDD8452),
            ActionKind.BACKWARD_WEIGHT, new Color(0x55A868),
            ActionKind.FULL_BACKWARD, new Color(0xC44E52),
            ActionKind.OPTIMIZER_STEP, new Color(0x8172B3));

    private GanttChart() {
    }

    /**
     * Writes the chart to {@code png} atomically. Drawing text needs the JVM's font support: without
     * it this throws an unchecked error (AWTError, LinkageError, InternalError or a RuntimeException),
     * which the caller reports and survives.
     *
     * @throws IOException when the file cannot be written
     */
    public static void write(Path png, String title, PipelineSchedule schedule, SimulationReport report)
            throws IOException {
        boolean severalChunks = schedule.stages() > schedule.devices();
        // Charts are drawn off-screen; without this a machine with no display fails to load AWT.
        System.setProperty("java.awt.headless", "true");
        int devices = report.devices().size();
        int height = TOP + devices * ROW + BOTTOM;
        BufferedImage image = new BufferedImage(WIDTH, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, WIDTH, height);
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 16));
            g.setColor(Color.BLACK);
            g.drawString(title, LEFT, 28);
            double span = report.stepTime() > 0 ? report.stepTime() : 1;
            double scale = (WIDTH - LEFT - RIGHT) / span;
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
            FontMetrics metrics = g.getFontMetrics();
            for (int device = 0; device < devices; device++) {
                int y = TOP + device * ROW;
                g.setColor(new Color(0xF2F2F2));
                g.fillRect(LEFT, y, WIDTH - LEFT - RIGHT, ROW - GAP);
                g.setColor(Color.BLACK);
                g.drawString("device " + device, 12, y + (ROW - GAP) / 2 + metrics.getAscent() / 2);
            }
            for (TimedAction entry : report.timeline()) {
                Color colour = COLOURS.get(entry.action().kind());
                if (colour == null || entry.end() <= entry.start()) {
                    continue;
                }
                int chunk = schedule.chunkOf(entry.action().stage());
                if (chunk > 0) {
                    colour = lighter(colour, Math.min(0.6, 0.45 * chunk));
                }
                int x = LEFT + (int) Math.round(entry.start() * scale);
                int w = Math.max(1, (int) Math.round(entry.end() * scale) - (x - LEFT));
                int y = TOP + entry.device() * ROW;
                g.setColor(colour);
                g.fillRect(x, y, w, ROW - GAP);
                g.setColor(Color.WHITE);
                g.setStroke(new BasicStroke(1));
                g.drawRect(x, y, w, ROW - GAP);
                String label = Integer.toString(entry.action().microBatch());
                if (metrics.stringWidth(label) + 4 <= w) {
                    g.drawString(label, x + (w - metrics.stringWidth(label)) / 2, y + (ROW - GAP) / 2 + metrics.getAscent() / 2 - 1);
                }
            }
            drawAxis(g, metrics, devices, span, scale);
            drawLegend(g, metrics, height, severalChunks);
        } finally {
            g.dispose();
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ImageIO.write(image, "png", bytes);
        AtomicFiles.write(png, bytes.toByteArray());
    }

    private static void drawAxis(Graphics2D g, FontMetrics metrics, int devices, double span, double scale) {
        int y = TOP + devices * ROW;
        g.setColor(Color.DARK_GRAY);
        g.drawLine(LEFT, y, WIDTH - RIGHT, y);
        double tick = niceTick(span / 10);
        for (int i = 0; i * tick <= span + 1e-9; i++) {
            int x = LEFT + (int) Math.round(i * tick * scale);
            g.drawLine(x, y, x, y + 5);
            String label = StageTimes.format(i * tick);
            g.drawString(label, x - metrics.stringWidth(label) / 2, y + 18);
        }
    }

    private static void drawLegend(Graphics2D g, FontMetrics metrics, int height, boolean severalChunks) {
        int x = LEFT;
        int y = height - 22;
        for (Map.Entry<ActionKind, String> kind : List.of(Map.entry(ActionKind.FORWARD, "F forward"),
                Map.entry(ActionKind.BACKWARD_INPUT, "B input gradient"), Map.entry(ActionKind.BACKWARD_WEIGHT,
                        "W weight gradient"), Map.entry(ActionKind.FULL_BACKWARD, "BW fused backward"))) {
            g.setColor(COLOURS.get(kind.getKey()));
            g.fillRect(x, y - 11, 14, 14);
            g.setColor(Color.BLACK);
            g.drawString(kind.getValue(), x + 20, y);
            x += 40 + metrics.stringWidth(kind.getValue());
        }
        if (severalChunks) {
            g.drawString("numbers: micro-batch; lighter: a later chunk of the device", x, y);
        } else {
            g.drawString("numbers: micro-batch", x, y);
        }
    }

    private static Color lighter(Color colour, double towardsWhite) {
        return new Color(blend(colour.getRed(), towardsWhite), blend(colour.getGreen(), towardsWhite),
                blend(colour.getBlue(), towardsWhite));
    }

    private static int blend(int channel, double towardsWhite) {
        return (int) Math.round(channel + (255 - channel) * towardsWhite);
    }

    /** 1, 2 or 5 times a power of ten, at least {@code rough}. */
    private static double niceTick(double rough) {
        if (!(rough > 0)) {
            return 1;
        }
        double power = Math.pow(10, Math.floor(Math.log10(rough)));
        for (double step : new double[] {1, 2, 5, 10}) {
            if (step * power >= rough) {
                return step * power;
            }
        }
        return 10 * power;
    }
}
