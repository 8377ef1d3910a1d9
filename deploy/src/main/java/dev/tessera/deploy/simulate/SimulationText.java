package dev.tessera.deploy.simulate;

import dev.tessera.deploy.simulate.PipelineSimulation.Outcome;
import dev.tessera.plan.simulate.SimulationReport;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/** What {@code tessera simulate} prints: the comparison table, or one schedule's text form and per-device table. */
public final class SimulationText {
    private static final String ROW = "%-19s %12s %11s %11s  %s%n";

    private SimulationText() {
    }

    /** One row per outcome: step time, bubble rate, the largest peak memory, peak activations of each device. */
    public static String comparison(PipelineSimulation simulation, String source, List<Outcome> outcomes) {
        StringBuilder text = new StringBuilder(header(simulation, source, true));
        text.append(String.format(Locale.ROOT, ROW, "schedule", "step time", "bubble rate", "peak memory",
                "peak activations per device"));
        for (Outcome outcome : outcomes) {
            if (!outcome.simulated()) {
                text.append(String.format(Locale.ROOT, "%-19s not available: %s%n", outcome.name(), outcome.problem()));
                continue;
            }
            text.append(String.format(Locale.ROOT, ROW, outcome.name(), StageTimes.format(outcome.report().stepTime()),
                    String.format(Locale.ROOT, "%.4f", outcome.report().bubbleRate()),
                    StageTimes.format(outcome.peakMemory()), activations(outcome)).stripTrailing()).append('\n');
            if (outcome.origin() != null) {
                text.append(String.format(Locale.ROOT, "%-19s   (%s, at most %d activations per device)%n", "",
                        outcome.origin(), simulation.memoryLimit()));
            }
        }
        text.append(legend());
        return text.toString();
    }

    /** The schedule's text form ({@code device 0: 0F0 ...}), then the simulator's per-device table. */
    public static String single(PipelineSimulation simulation, String source, Outcome outcome) {
        boolean interleaved = outcome.name().equals(ScheduleFamily.INTERLEAVED_ONE_F_ONE_B.label());
        StringBuilder text = new StringBuilder(header(simulation, source, interleaved));
        text.append("schedule ").append(outcome.name());
        if (outcome.origin() != null) {
            text.append(" (").append(outcome.origin()).append(", at most ").append(simulation.memoryLimit())
                    .append(" activations per device)");
        }
        text.append(":\n").append(outcome.schedule().toText()).append('\n').append(outcome.report().toTable());
        text.append("peak activations per device: ").append(activations(outcome)).append('\n');
        return text.toString();
    }

    private static String header(PipelineSimulation simulation, String source, boolean withChunks) {
        return String.format(Locale.ROOT, "%d stages (one per device), %d micro-batches%s; per micro-batch and stage "
                + "%s (%s)%n%n", simulation.stages(), simulation.microBatches(), withChunks
                ? ", interleaved-1f1b with " + simulation.chunks() + " chunks per device" : "",
                simulation.times().toText(), source);
    }

    private static String activations(Outcome outcome) {
        return outcome.report().devices().stream().mapToInt(SimulationReport.DeviceReport::peakActivations).mapToObj(Integer::toString).collect(Collectors.joining(" "));
    }

    private static String legend() {
        return "\nbubble rate: idle time over total device time (devices x step time). peak activations: micro-batches "
                + "a device holds\nat once, counted per stage (a device with k chunks holds 1/k of its share per entry). "
                + "peak memory: the\nlargest of any device, in micro-batches of a device's whole activations, half "
                + "freed by B and half by W.\n";
    }
}
