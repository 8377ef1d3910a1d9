package dev.tessera.plan.simulate;

import dev.tessera.plan.schedule.ScheduleExecution.TimedAction;
import java.util.List;
import java.util.Locale;

/**
 * What a simulated training step measured. Time starts at 0 when the first action may start.
 *
 * <ul>
 * <li>{@code stepTime}: when the last action of any device ends;</li>
 * <li>per device: {@code busy} (sum of its action durations), {@code idle} = stepTime - busy,
 * {@code spanIdle} = idle between its own first start and last end (the zero-bubble paper's bubble,
 * which ignores the stagger at the start and the end), {@code peakActivations} (most micro-batches held
 * at once, see {@code ActivationProfile}) and {@code peakMemory} (in the cost model's memory units);</li>
 * <li>{@code bubbleRate}: total idle over total device time, sum(idle) / (devices * stepTime);</li>
 * <li>{@code timeline}: every action with its device, start and end, in the order they were scheduled.</li>
 * </ul>
 */
public record SimulationReport(double stepTime, List<DeviceReport> devices, List<TimedAction> timeline) {
    /** One device's share of the step; see the class comment. */
    public record DeviceReport(int device, double busy, double idle, double firstStart, double lastEnd,
            double spanIdle, int peakActivations, double peakMemory) {
    }

    public SimulationReport {
        devices = List.copyOf(devices);
        timeline = List.copyOf(timeline);
    }

    public DeviceReport device(int device) {
        return devices.get(device);
    }

    public double bubbleRate() {
        double idle = devices.stream().mapToDouble(DeviceReport::idle).sum();
        return stepTime == 0 ? 0 : idle / (devices.size() * stepTime);
    }

    /** The largest {@code peakActivations} of any device. */
    public int maxPeakActivations() {
        return devices.stream().mapToInt(DeviceReport::peakActivations).max().orElse(0);
    }

    /** A fixed-width table: one row per device, then the step time and bubble rate. */
    public String toTable() {
        StringBuilder text = new StringBuilder(String.format(Locale.ROOT, "%-7s %10s %10s %10s %10s %10s%n",
                "device", "busy", "idle", "span idle", "peak act.", "peak mem."));
        for (DeviceReport device : devices) {
            text.append(String.format(Locale.ROOT, "%-7d %10.4f %10.4f %10.4f %10d %10.4f%n", device.device(),
                    device.busy(), device.idle(), device.spanIdle(), device.peakActivations(), device.peakMemory()));
        }
        text.append(String.format(Locale.ROOT, "step time %.4f, bubble rate %.4f%n", stepTime, bubbleRate()));
        return text.toString();
    }

    /**
     * The timeline as Chrome trace JSON (chrome://tracing, Perfetto): one complete event ("ph":"X") per
     * action with the device as thread; the model's time unit is written as seconds (ts and dur in
     * microseconds).
     */
    public String toChromeTrace() {
        StringBuilder json = new StringBuilder("{\"displayTimeUnit\":\"ms\",\"traceEvents\":[");
        boolean first = true;
        for (DeviceReport device : devices) {
            json.append(first ? "" : ",").append("{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":0,\"tid\":")
                    .append(device.device()).append(",\"args\":{\"name\":\"device ").append(device.device())
                    .append("\"}}");
            first = false;
        }
        for (TimedAction entry : timeline) {
            json.append(",{\"name\":\"").append(entry.action()).append("\",\"cat\":\"")
                    .append(entry.action().kind().symbol()).append("\",\"ph\":\"X\",\"pid\":0,\"tid\":")
                    .append(entry.device()).append(",\"ts\":").append(micros(entry.start())).append(",\"dur\":")
                    .append(micros(entry.end() - entry.start())).append(",\"args\":{\"stage\":")
                    .append(entry.action().stage()).append(",\"microBatch\":").append(entry.action().microBatch())
                    .append("}}");
        }
        return json.append("]}").toString();
    }

    private static String micros(double time) {
        return String.format(Locale.ROOT, "%.3f", time * 1e6);
    }
}
