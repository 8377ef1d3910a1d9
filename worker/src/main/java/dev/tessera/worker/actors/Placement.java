package dev.tessera.worker.actors;

import dev.tessera.autodiff.TrainingGraph;
import dev.tessera.graph.Op;
import dev.tessera.graph.Tensor;
import dev.tessera.graph.TensorKind;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.ToIntFunction;

/**
 * Chooses the device of every op of a training graph (manual placement). An op may answer
 * {@link #FOLLOW}: it then runs on the device of the latest producer of its inputs (in the
 * training graph's op order), so the glue of a placed block (its residual add, reshapes, their
 * gradients) stays with the block it closes. Any placement trains correctly: tensors crossing devices go through transfer
 * actors and every ordering on parameters and optimizer state is kept across devices.
 */
@FunctionalInterface
public interface Placement {
    /** Run the op on the device of the latest producer of its inputs (device 0 if none). */
    int FOLLOW = -1;

    /** A device index, or {@link #FOLLOW}. */
    int device(Op op);

    /**
     * The device index of every op of {@code graph}, {@link #FOLLOW} resolved in the graph's op order.
     *
     * @throws IllegalArgumentException when an op is placed on a device the run does not have
     */
    default ToIntFunction<Op> resolve(TrainingGraph graph, int devices) {
        Map<Op, Integer> placed = new HashMap<>();
        Map<Tensor, Integer> producedOn = new HashMap<>();
        Map<Tensor, Integer> producedAt = new HashMap<>();
        int index = 0;
        for (Op op : graph.ops()) {
            int device = device(op);
            if (device == FOLLOW) {
                int latest = -1;
                device = 0;
                for (Tensor input : op.inputs()) {
                    if (producedAt.getOrDefault(input, -1) > latest) {
                        latest = producedAt.get(input);
                        device = producedOn.get(input);
                    }
                }
            }
            if (device < 0 || device >= devices) {
                throw new IllegalArgumentException("placement put op '" + op.name() + "' on device " + device
                        + " but the run has " + devices + " devices (runtime.devices)");
            }
            placed.put(op, device);
            for (Tensor out : op.outputs()) {
                producedOn.put(out, device);
                producedAt.put(out, index);
            }
            index++;
        }
        return placed::get;
    }

    /** Everything on device 0. */
    static Placement singleDevice() {
        return op -> 0;
    }

    /**
     * Places an op by the first parameter or optimizer-state tensor it reads (the parameter
     * itself, its gradient accumulator {@code <param>.grad}, its moments {@code <param>.adam_m}):
     * on the device of the longest matching name prefix, device 0 when no prefix matches; ops
     * that read no such tensor follow their producer. For example
     * {@code byParameterPrefix(Map.of("block1.", 1, "head.", 1))} puts the second block and the
     * head on device 1.
     */
    static Placement byParameterPrefix(Map<String, Integer> devicesByPrefix) {
        Map<String, Integer> prefixes = new LinkedHashMap<>(devicesByPrefix);
        return op -> {
            for (Tensor input : op.inputs()) {
                if (input.kind() == TensorKind.PARAMETER || input.kind() == TensorKind.STATE) {
                    String best = "";
                    int device = 0;
                    for (Map.Entry<String, Integer> e : prefixes.entrySet()) {
                        if (input.name().startsWith(e.getKey()) && e.getKey().length() > best.length()) {
                            best = e.getKey();
                            device = e.getValue();
                        }
                    }
                    return device;
                }
            }
            return FOLLOW;
        };
    }
}
