package dev.tessera.deploy.run;

import dev.tessera.deploy.checkpoint.AtomicFiles;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** Draws the training loss against the step as a PNG line chart. */
public final class LossChart {
    private LossChart() {
    }

    /** One point of the curve. */
    public record Point(long step, double loss) {
    }

    /**
     * Writes the chart to {@code png} atomically (a viewer never sees half an image).
     *
     * @throws IOException when the file cannot be written
     */
    public static void write(Path png, String title, List<Point> points) throws IOException {
        // Charts are drawn off-screen; without this a machine with no display fails to load AWT.
        System.setProperty("java.awt.headless", "true");
        XYChart chart = new XYChartBuilder().width(800).height(500).title(title)
                .xAxisTitle("step").yAxisTitle("loss").build();
        chart.getStyler().setLegendVisible(false);
        chart.getStyler().setMarkerSize(0);
        double[] steps = new double[Math.max(1, points.size())];
        double[] losses = new double[steps.length];
        for (int i = 0; i < points.size(); i++) {
            steps[i] = points.get(i).step();
            losses[i] = points.get(i).loss();
        }
        chart.addSeries("loss", steps, losses).setMarker(SeriesMarkers.NONE);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        BitmapEncoder.saveBitmap(chart, bytes, BitmapEncoder.BitmapFormat.PNG);
        AtomicFiles.write(png, bytes.toByteArray());
    }
}
