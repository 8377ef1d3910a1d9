package dev.tessera.deploy.simulate;

import dev.tessera.deploy.InputException;
import dev.tessera.plan.schedule.PipelineSchedule;
import dev.tessera.plan.simulate.CostModel;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The modeled time of one micro-batch on each pipeline stage (one stage per device): forward (F),
 * input gradient (B), weight gradient (W), and one transfer between devices ({@code comm}). A
 * schedule with several chunks per device splits each device's times evenly over its chunks, so
 * every family does the same work and only the order differs.
 *
 * <p>Text form of {@code --times}: {@code F=1.0,B=1.1,W=0.6,comm=0.05}; a value of F, B or W is one
 * number for every stage or one per stage separated by ':' ({@code F=1.0:1.2:1.0:1.4}); comm is one
 * number; omitted keys are 1 (F, B, W) and 0 (comm).
 *
 * <p>Times from a device profile can differ per stage boundary ({@code boundaryTransfers}, one per
 * boundary between stage i and i+1); {@code transfer} is then their largest, which schedules with
 * several chunks per device charge on every boundary.
 */
public record StageTimes(List<Double> forward, List<Double> backwardInput, List<Double> backwardWeight,
        double transfer, List<Double> boundaryTransfers) {
    private static final List<String> KEYS = List.of("F", "B", "W", "comm");

    public StageTimes {
        forward = List.copyOf(forward);
        backwardInput = List.copyOf(backwardInput);
        backwardWeight = List.copyOf(backwardWeight);
        boundaryTransfers = List.copyOf(boundaryTransfers);
        if (boundaryTransfers.size() != Math.max(0, forward.size() - 1)) {
            throw new IllegalArgumentException(forward.size() + " stages have " + (forward.size() - 1)
                    + " boundaries, not " + boundaryTransfers.size() + " transfer times");
        }
    }

    /** The same transfer time on every boundary. */
    public StageTimes(List<Double> forward, List<Double> backwardInput, List<Double> backwardWeight, double transfer) {
        this(forward, backwardInput, backwardWeight, transfer,
                Collections.nCopies(Math.max(0, forward.size() - 1), transfer));
    }

    /** Per-boundary transfer times; {@code transfer} is their largest (0 for one stage). */
    public static StageTimes withBoundaries(List<Double> forward, List<Double> backwardInput,
            List<Double> backwardWeight, List<Double> boundaryTransfers) {
        double largest = boundaryTransfers.stream().mapToDouble(Double::doubleValue).max().orElse(0);
        return new StageTimes(forward, backwardInput, backwardWeight, largest, boundaryTransfers);
    }

    /** Every stage takes 1 for F, B and W; transfers are free. */
    public static StageTimes unit(int stages) {
        List<Double> ones = Collections.nCopies(stages, 1.0);
        return new StageTimes(ones, ones, ones, 0.0);
    }

    /**
     * Reads {@code --times} for {@code stages} stages.
     *
     * @throws InputException naming the key and value that cannot be used, and the form to write
     */
    public static StageTimes parse(String text, int stages) {
        Map<String, String> values = new LinkedHashMap<>();
        for (String entry : text.split(",", -1)) {
            int equals = entry.indexOf('=');
            if (equals < 0) {
                throw problem("'" + entry.strip() + "' is not key=value");
            }
            String key = canonicalKey(entry.substring(0, equals).strip());
            if (values.put(key, entry.substring(equals + 1).strip()) != null) {
                throw problem(key + " is given twice");
            }
        }
        double transfer = values.containsKey("comm") ? number("comm", values.get("comm")) : 0.0;
        return new StageTimes(perStage("F", values.get("F"), stages), perStage("B", values.get("B"), stages),
                perStage("W", values.get("W"), stages), transfer);
    }

    public int stages() {
        return forward.size();
    }

    /**
     * The simulator's costs for {@code schedule}: a stage on device d with k chunks gets d's times / k;
     * memory per micro-batch is 1/k of a device's, half freed by B and half by W (CostModel's split).
     * With one stage per device each boundary takes its own transfer time, else every boundary {@code transfer}.
     *
     * @throws IllegalArgumentException when the schedule has another number of devices
     */
    public CostModel costModel(PipelineSchedule schedule) {
        if (schedule.devices() != stages()) {
            throw new IllegalArgumentException("the times are for " + stages() + " stages but the schedule has "
                    + schedule.devices() + " devices");
        }
        List<Double> f = new ArrayList<>();
        List<Double> b = new ArrayList<>();
        List<Double> w = new ArrayList<>();
        List<Double> memory = new ArrayList<>();
        for (int stage = 0; stage < schedule.stages(); stage++) {
            int device = schedule.deviceOf(stage);
            double chunks = schedule.stagesOf(device).size();
            f.add(forward.get(device) / chunks);
            b.add(backwardInput.get(device) / chunks);
            w.add(backwardWeight.get(device) / chunks);
            memory.add(0.5 / chunks);
        }
        CostModel costs = CostModel.perStage(f, b, w, transfer).withMemory(memory, memory);
        if (schedule.stages() == stages()) {
            // one stage per device: a boundary's "bytes" are its seconds at bandwidth 1
            costs = costs.withLinks(0, 1.0, boundaryTransfers);
        }
        return costs;
    }

    /** {@code F=1,B=1.1,W=0.6,comm=0.05}, per-stage lists joined by ':'. */
    public String toText() {
        return "F=" + join(forward) + ",B=" + join(backwardInput) + ",W=" + join(backwardWeight) + ",comm="
                + (boundaryTransfers.isEmpty() ? format(transfer) : join(boundaryTransfers));
    }

    private static String join(List<Double> values) {
        if (values.stream().distinct().count() == 1) {
            return format(values.get(0));
        }
        return String.join(":", values.stream().map(StageTimes::format).toList());
    }

    /** A time with at most 6 significant digits and no trailing zeros: 33, 0.05, 1.2e-05. */
    public static String format(double value) {
        String text = String.format(Locale.ROOT, "%.6g", value);
        if (text.contains("e")) {
            return text;
        }
        return text.contains(".") ? text.replaceAll("0+$", "").replaceAll("\\.$", "") : text;
    }

    private static String canonicalKey(String key) {
        for (String known : KEYS) {
            if (known.equalsIgnoreCase(key)) {
                return known;
            }
        }
        throw problem("unknown key '" + key + "'");
    }

    private static List<Double> perStage(String key, String text, int stages) {
        if (text == null) {
            return Collections.nCopies(stages, 1.0);
        }
        String[] parts = text.split(":", -1);
        if (parts.length != 1 && parts.length != stages) {
            throw problem(key + " has " + parts.length + " values but there are " + stages + " stages; give one value "
                    + "for all or one per stage");
        }
        List<Double> values = new ArrayList<>();
        for (String part : parts) {
            values.add(number(key, part));
        }
        return parts.length == 1 ? Collections.nCopies(stages, values.get(0)) : values;
    }

    private static double number(String key, String text) {
        double value;
        try {
            value = Double.parseDouble(text.strip());
        } catch (NumberFormatException e) {
            throw problem(key + "=" + text + " is not a number");
        }
        if (!(value >= 0) || Double.isInfinite(value)) {
            throw problem(key + "=" + text + " must be a finite time of at least 0");
        }
        return value;
    }

    private static InputException problem(String what) {
        return new InputException("--times: " + what + "; write F=T,B=T,W=T,comm=T with times of at least 0, T one "
                + "number or one per stage joined by ':' (e.g. --times F=1.0:1.2:1.0:1.4,B=1.1,W=0.6,comm=0.05)");
    }
}
