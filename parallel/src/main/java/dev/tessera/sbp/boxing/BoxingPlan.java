package dev.tessera.sbp.boxing;

import dev.tessera.graph.TensorType;
import dev.tessera.sbp.DeviceId;
import dev.tessera.sbp.NdSbp;
import dev.tessera.sbp.Placement;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How one tensor gets from its producer's layout to its consumer's: the steps in order, each
 * with its peer groups and bytes. An empty plan means the layouts already agree. Produced only by
 * {@link Boxing#plan}; the planner, the cost model and the runtime all read it.
 */
public record BoxingPlan(String tensor, TensorType type, Placement fromPlacement, NdSbp from, Placement toPlacement,
        NdSbp to, List<BoxingStep> steps) {

    public BoxingPlan {
        steps = List.copyOf(steps);
    }

    public boolean isEmpty() {
        return steps.isEmpty();
    }

    /** Bytes all devices together send per iteration (one run of the plan). */
    public double totalBytes() {
        return steps.stream().mapToDouble(BoxingStep::totalBytes).sum();
    }

    /** Bytes each device sends per iteration; devices that send nothing are absent. */
    public Map<DeviceId, Double> bytesByDevice() {
        Map<DeviceId, Double> bytes = new LinkedHashMap<>();
        for (BoxingStep step : steps) {
            step.bytesByDevice().forEach((d, b) -> {
                if (b > 0) {
                    bytes.merge(d, b, Double::sum);
                }
            });
        }
        return bytes;
    }

    /** The largest number of bytes any one device sends: what bounds the time of the plan. */
    public double maxBytesPerDevice() {
        return bytesByDevice().values().stream().mapToDouble(Double::doubleValue).max().orElse(0);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("boxing of '" + tensor + "' " + type + ": " + from + " on " + fromPlacement
                + " -> " + to + " on " + toPlacement);
        if (steps.isEmpty()) {
            return sb.append(": nothing to do").toString();
        }
        for (BoxingStep step : steps) {
            sb.append("\n  ").append(step);
        }
        return sb.append("\n  total ").append((long) totalBytes()).append(" bytes").toString();
    }
}
